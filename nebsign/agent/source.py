"""Where a published release is read from: a local directory or an http(s) URL.

Published layout (see README, "Release layout")::

    <release>/release.json                   the manifest (name, version, expires)
    <release>/release.json.sigstore.json     a signature bundle over release.json's sha256
    <release>/signatures/*.sigstore.json     more signature bundles (k-of-n)
    <release>/attestations/*.sigstore.json   DSSE bundles; subjects include release.json's digest
    <release>/payload/...                    the files release.json lists
    <release>/index.json                     (HTTP only) names the bundle files

HTTP has no directory listing, so an http(s) release carries ``index.json``::

    {"signatures": ["release.json.sigstore.json", "signatures/b.sigstore.json"],
     "attestations": ["attestations/sast.sigstore.json"]}

It needs no signature: every file it names is verified, a bundle that does
not verify counts for nothing, and leaving a file out can only make the
policy's threshold or required attestations fail.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal import fields
from nebsign._internal.canonical import parse_json_object
from nebsign._internal.fetch import (
    FetchError,
    FetchLimits,
    fetch_bytes,
    is_url,
    join_location,
    redact,
)
from nebsign._internal.safepath import check_relpath
from nebsign.errors import InputError

__all__ = [
    "INDEX_FILE",
    "MANIFEST_FILE",
    "PAYLOAD_DIR",
    "SIGNATURE_FILE",
    "BundleList",
    "list_bundles",
    "parse_index",
    "redact",
]

MANIFEST_FILE = "release.json"
SIGNATURE_FILE = "release.json.sigstore.json"
INDEX_FILE = "index.json"
PAYLOAD_DIR = "payload"
_SUFFIX = ".sigstore.json"
MAX_INDEX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BundleList:
    """Relative paths of the signature and attestation bundles of one release."""

    signatures: tuple[str, ...]
    attestations: tuple[str, ...]


def _scan_dir(base: str, sub: str, limit: int) -> list[str]:
    path = os.path.join(base, sub)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: not a directory")
    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(_SUFFIX))
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(names) > limit:
        raise InputError(f"{path}: more than {limit} bundles")
    return [f"{sub}/{n}" for n in names]


def _list_local(base: str, limit: int) -> BundleList:
    sigs: list[str] = []
    if os.path.lexists(os.path.join(base, SIGNATURE_FILE)):
        sigs.append(SIGNATURE_FILE)
    sigs += _scan_dir(base, "signatures", limit)
    return BundleList(tuple(sigs), tuple(_scan_dir(base, "attestations", limit)))


def _names(obj: dict[str, object], key: str, what: str, limit: int) -> tuple[str, ...]:
    value = fields.strings(
        obj.get(key, []),
        f"{what}: {key!r}",
        limit=limit,
        expected="must be a list of relative paths",
    )
    out = []
    for name in value:
        check_relpath(name, what)
        if not name.endswith(_SUFFIX):
            raise InputError(f"{what}: {name!r} is not a *{_SUFFIX} file")
        out.append(name)
    if len(set(out)) != len(out):
        raise InputError(f"{what}: {key!r} names a file twice")
    return tuple(out)


def parse_index(raw: bytes, what: str = INDEX_FILE, limit: int = 64) -> BundleList:
    """Parse an ``index.json``; paths are checked, unknown keys refused."""
    obj = parse_json_object(raw, what, limit=MAX_INDEX_BYTES)
    unknown = sorted(set(obj) - {"signatures", "attestations"})
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r}")
    return BundleList(
        _names(obj, "signatures", what, limit), _names(obj, "attestations", what, limit)
    )


def list_bundles(location: str, *, limit: int, limits: FetchLimits) -> BundleList:
    """The bundle files of the release at *location* (directory or URL)."""
    if is_url(location):
        raw = fetch_bytes(join_location(location, INDEX_FILE), limit=MAX_INDEX_BYTES, limits=limits)
        return parse_index(raw, f"{redact(location)}/{INDEX_FILE}", limit)
    if not Path(location).is_dir():
        raise InputError(f"release {location}: not a directory")
    return _list_local(location, limit)
