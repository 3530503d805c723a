"""Release manifests: every file of a release directory, canonical JSON.

This module is the model (parse, validate, serialize; no I/O);
:mod:`nebsign.tree` builds manifests from directories and checks trees
against them.

A manifest is the release's identity: its own SHA-256 (of the RFC 8785
canonical bytes) is what gets signed. Parsing validates everything (paths,
digests, sizes, ordering, metadata); an invalid manifest never becomes an
object.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from nebsign._internal.canonical import MAX_SAFE_INTEGER, parse_json_object
from nebsign._internal.safepath import check_link_target, check_relpaths
from nebsign.checksums import format_line
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.versioning import ReleaseVersion

__all__ = [
    "MANIFEST_TYPE",
    "MAX_MANIFEST_BYTES",
    "FileEntry",
    "LinkEntry",
    "Manifest",
    "files_json",
    "parse_expires",
]

MANIFEST_TYPE = "https://nebsign.dev/manifest/v1"
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 5_000_000
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_HEXES_RE = re.compile(r"[0-9a-f]*")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
# ASCII digits only: \d would take fullwidth or Arabic-Indic digits, and other
# tools reading the same signed manifest would disagree about when it expires
_EXPIRES_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class FileEntry(NamedTuple):
    """One regular file: relative POSIX path, size, hex SHA-256, and whether it is executable.

    ``executable`` (any execute bit set) is recorded only when true, so a
    manifest without executables has the same bytes as before the field
    existed; changing it is a change of the release (hosts install the file
    0755 instead of 0644).

    A NamedTuple rather than a frozen dataclass: equally immutable and typed,
    and built 6x faster (a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` per field), which is a tenth of ``manifest create``
    for 100,000 files (ADR 0001).
    """

    path: str
    size: int
    sha256: str
    executable: bool = False


class LinkEntry(NamedTuple):
    """One symbolic link, recorded by its target (never followed)."""

    path: str
    target: str


def parse_expires(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) or raise InputError."""
    if not _EXPIRES_RE.fullmatch(text):
        raise InputError(
            f"invalid expiry {text!r}", hint="use UTC RFC 3339, e.g. 2027-01-31T00:00:00Z"
        )
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"invalid expiry {text!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated release manifest. Entries are sorted by path, paths unique."""

    files: tuple[FileEntry, ...]
    symlinks: tuple[LinkEntry, ...] = ()
    name: str | None = None
    version: str | None = None
    expires: str | None = None
    _index: dict[str, FileEntry | LinkEntry] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: The "files" array's JSON (between the brackets, UTF-8), when made with the entries.
    _files_json: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def _check_metadata(self) -> None:
        if self.name is not None and not (type(self.name) is str and _NAME_RE.fullmatch(self.name)):
            raise InputError(
                f"manifest: invalid release name {self.name!r}",
                hint="letters, digits, '.', '_', '+', '-'; at most 128 characters",
            )
        if self.version is not None:
            ReleaseVersion.parse(self.version)
        if self.expires is not None:
            parse_expires(self.expires)
        if len(self.files) + len(self.symlinks) > MAX_ENTRIES:
            raise InputError(f"manifest: more than {MAX_ENTRIES} entries")
        for link in self.symlinks:
            check_link_target(link.path, link.target, "manifest symlink")

    @classmethod
    def _from_walk(
        cls,
        files: tuple[FileEntry, ...],
        links: tuple[LinkEntry, ...],
        name: str | None,
        version: str | None,
        expires: str | None,
        files_json: bytes | None = None,
    ) -> Manifest:
        """A manifest of a tree this process just walked and hashed.

        The walk guarantees what the full validation checks of entries: every
        path is built from directory-entry names, which hold no ``/`` or NUL
        and are never ``.`` or ``..``; paths come sorted and unique; no path
        is also a directory of another; sizes are read lengths and digests
        hex. What the walk cannot guarantee is still checked: names that are
        not UTF-8 (they arrive as surrogates), symlink targets, metadata. A
        test holds every such manifest to the full validation of
        :meth:`from_json`. This saves ~0.2 s per 100,000 files.

        *files_json*, if given, must be :func:`files_json` of *files*,
        UTF-8 encoded (the C loop writes it piece by piece while the rest is
        being hashed; tests hold the two equal); having been encoded, its
        paths need no second UTF-8 check.
        """
        manifest = object.__new__(cls)
        for attr, value in (
            ("files", files),
            ("symlinks", links),
            ("name", name),
            ("version", version),
            ("expires", expires),
            ("_index", None),
            ("_files_json", files_json),
        ):
            object.__setattr__(manifest, attr, value)
        manifest._check_metadata()
        if files_json is not None:
            return manifest  # its paths were UTF-8-encoded into it
        joined = "\x00".join([e.path for e in files])
        if not joined.isascii():
            try:
                joined.encode("utf-8")
            except UnicodeEncodeError:
                bad = next(e.path for e in files if not _utf8(e.path))
                raise InputError(
                    f"file name {bad!r} is not valid UTF-8", hint="rename it or --exclude it"
                ) from None
        return manifest

    def __post_init__(self) -> None:
        self._check_metadata()
        files = self.files
        # Bulk checks (C-speed passes over all entries); a manifest of 100,000
        # files must validate in well under the time it takes to hash them.
        paths = [e.path for e in files]
        check_relpaths(paths, "manifest")
        sizes = [e.size for e in files]
        if sizes and not (
            all(type(x) is int for x in sizes)
            and min(sizes) >= 0
            and max(sizes) <= MAX_SAFE_INTEGER
        ):
            bad = next(
                e for e in files if type(e.size) is not int or not 0 <= e.size <= MAX_SAFE_INTEGER
            )
            raise InputError(f"manifest: {bad.path!r}: size is not an integer in 0..2**53-1")
        if (
            not all(type(e.sha256) is str for e in files)
            or not _HEXES_RE.fullmatch("".join(e.sha256 for e in files))
            or any(len(e.sha256) != 64 for e in files)
        ):
            bad_entry = next(
                e for e in files if type(e.sha256) is not str or not _HEX_RE.fullmatch(e.sha256)
            )
            raise InputError(f"manifest: {bad_entry.path!r}: sha256 is not 64 lowercase hex")
        if not all(type(e.executable) is bool for e in files):
            raise InputError("manifest: executable must be true or false")
        link_paths = [e.path for e in self.symlinks]
        for group in (paths, link_paths):
            if not all(a < b for a, b in itertools.pairwise(group)):
                dup = next((a for a, b in itertools.pairwise(group) if a == b), None)
                if dup is not None:
                    raise InputError(f"manifest: duplicate path {dup!r}")
                raise InputError("manifest: entries are not sorted by path")
        all_paths = set(paths)
        both = all_paths.intersection(link_paths)
        if both:
            raise InputError(f"manifest: duplicate path {min(both)!r}")
        all_paths.update(link_paths)
        # A path cannot be both an entry and a directory of another entry.
        directories = {p.rpartition("/")[0] for p in all_paths}
        directories.discard("")
        for head in list(directories):
            head = head.rpartition("/")[0]
            while head and head not in directories:
                directories.add(head)
                head = head.rpartition("/")[0]
        clash = directories & all_paths
        if clash:
            raise InputError(f"manifest: {min(clash)!r} is both an entry and a directory")

    # -- queries ---------------------------------------------------------

    def get(self, path: str) -> FileEntry | LinkEntry | None:
        """The entry at *path*, if any."""
        if self._index is None:
            index: dict[str, FileEntry | LinkEntry] = {e.path: e for e in self.files}
            index.update((e.path, e) for e in self.symlinks)
            object.__setattr__(self, "_index", index)
            return index.get(path)
        return self._index.get(path)

    @property
    def release_version(self) -> ReleaseVersion | None:
        """The parsed version, if the manifest names one."""
        return None if self.version is None else ReleaseVersion.parse(self.version)

    @property
    def expires_at(self) -> datetime | None:
        """The expiry as an aware UTC datetime, if set."""
        return None if self.expires is None else parse_expires(self.expires)

    def is_expired(self, now: datetime) -> bool:
        """True when an expiry is set and *now* is at or past it."""
        expires = self.expires_at
        return expires is not None and now >= expires

    @property
    def total_size(self) -> int:
        """Sum of all file sizes."""
        return sum(e.size for e in self.files)

    # -- serialization ---------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON object form (metadata keys only when set)."""
        out: dict[str, Any] = {
            "_type": MANIFEST_TYPE,
            "files": [_file_dict(e) for e in self.files],
        }
        if self.symlinks:
            out["symlinks"] = [{"path": e.path, "target": e.target} for e in self.symlinks]
        for key in ("name", "version", "expires"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def to_json(self) -> bytes:
        """RFC 8785 canonical JSON bytes (stable across machines and runs).

        Emitted directly (keys in RFC 8785 order, strings escaped by the C
        ``encode_basestring``, integers <= 2**53 - 1), which for this schema
        is byte-identical to :func:`canonical_json_simple` of :meth:`to_dict`;
        a property test holds both against the ``rfc8785`` package.
        """
        enc = encode_basestring
        parts = ['{"_type":', enc(MANIFEST_TYPE)]
        if self.expires is not None:
            parts += [',"expires":', enc(self.expires)]
        parts.append(',"files":[')
        head = "".join(parts).encode("utf-8")
        parts = ["]"]
        if self.name is not None:
            parts += [',"name":', enc(self.name)]
        if self.symlinks:
            parts.append(',"symlinks":[')
            parts.append(
                ",".join(
                    [f'{{"path":{enc(e.path)},"target":{enc(e.target)}}}' for e in self.symlinks]
                )
            )
            parts.append("]")
        if self.version is not None:
            parts += [',"version":', enc(self.version)]
        parts.append("}")
        body = self._files_json
        if body is None:
            body = files_json(self.files).encode("utf-8")
        return b"".join((head, body, "".join(parts).encode("utf-8")))

    def digest(self) -> str:
        """Hex SHA-256 of :meth:`to_json` (what gets signed)."""
        return sha256_bytes(self.to_json())

    def to_sha256sum(self) -> bytes:
        """``sha256sum -c`` compatible text for the regular files."""
        return b"".join(format_line(e.sha256, os.fsencode(e.path)) for e in self.files)

    @classmethod
    def from_json(cls, raw: bytes, what: str = "manifest") -> Manifest:
        """Parse and validate manifest bytes; :class:`InputError` if invalid.

        Only the canonical form is accepted: *raw* must be exactly what
        :meth:`to_json` gives for the parsed manifest. So the digest that is
        signed is the digest of the file's bytes, and no two parsers can
        read different content from one signed manifest (duplicate keys,
        odd escapes and whitespace are all refused).
        """
        obj = parse_json_object(raw, what, limit=MAX_MANIFEST_BYTES, check_duplicates=False)
        manifest = cls.from_dict(obj, what)
        if manifest.to_json() != raw:
            raise InputError(
                f"{what}: not in canonical form (RFC 8785 JSON as `nebsign manifest create` "
                "writes it: no whitespace or trailing newline, sorted keys, no duplicate keys)"
            )
        return manifest

    @classmethod
    def from_dict(cls, obj: dict[str, Any], what: str = "manifest") -> Manifest:
        """Validate a decoded JSON object."""
        allowed = {"_type", "files", "symlinks", "name", "version", "expires"}
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise InputError(f"{what}: unknown field {unknown[0]!r}")
        if obj.get("_type") != MANIFEST_TYPE:
            raise InputError(f"{what}: _type must be {MANIFEST_TYPE!r}")
        files_raw = obj.get("files")
        if not isinstance(files_raw, list):
            raise InputError(f"{what}: 'files' must be a list")
        links_raw = obj.get("symlinks", [])
        if not isinstance(links_raw, list):
            raise InputError(f"{what}: 'symlinks' must be a list")
        if all(type(item) is dict and item.keys() == _FILE_KEYS for item in files_raw):
            # The common case (no executables) at C speed.
            files = tuple([FileEntry(d["path"], d["size"], d["sha256"]) for d in files_raw])
        else:
            files = tuple(_file_entry(item, i, what) for i, item in enumerate(files_raw))
        links = tuple(_link_entry(item, i, what) for i, item in enumerate(links_raw))
        meta: dict[str, str | None] = {}
        for key in ("name", "version", "expires"):
            value = obj.get(key)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{what}: {key!r} must be a string")
            meta[key] = value
        try:
            return cls(files, links, meta["name"], meta["version"], meta["expires"])
        except InputError as exc:
            message = exc.message.removeprefix("manifest: ")
            raise InputError(f"{what}: {message}", hint=exc.hint) from exc


_FILE_KEYS = frozenset({"path", "sha256", "size"})
_EXEC_FILE_KEYS = _FILE_KEYS | {"executable"}
_LINK_KEYS = frozenset({"path", "target"})
_EXEC_JSON = '"executable":true,'  # sorts before "path" (RFC 8785 key order)


def files_json(files: Sequence[FileEntry]) -> str:
    """The canonical JSON of *files* as array elements (comma-separated, no brackets).

    Pieces of one sorted list can be formatted separately and joined with
    ``","``: the result is the same.
    """
    enc = encode_basestring
    return ",".join(
        [
            f'{{{_EXEC_JSON if e.executable else ""}"path":{enc(e.path)},'
            f'"sha256":"{e.sha256}","size":{e.size}}}'
            for e in files
        ]
    )


def _file_dict(entry: FileEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"path": entry.path, "sha256": entry.sha256, "size": entry.size}
    if entry.executable:
        out["executable"] = True
    return out


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _file_entry(item: object, index: int, what: str) -> FileEntry:
    if type(item) is not dict or item.keys() not in (_FILE_KEYS, _EXEC_FILE_KEYS):
        raise InputError(
            f"{what}: files[{index}] must have exactly path, sha256 and size "
            "(and executable, when true)"
        )
    path, sha, size = item["path"], item["sha256"], item["size"]
    if type(path) is not str or type(sha) is not str:
        raise InputError(f"{what}: files[{index}]: path and sha256 must be strings")
    if type(size) is not int:
        raise InputError(f"{what}: files[{index}]: size must be an integer")
    executable = item.get("executable", False)
    if "executable" in item and executable is not True:
        raise InputError(f"{what}: files[{index}]: executable is written only as true")
    return FileEntry(path, size, sha, executable)


def _link_entry(item: object, index: int, what: str) -> LinkEntry:
    if type(item) is not dict or item.keys() != _LINK_KEYS:
        raise InputError(f"{what}: symlinks[{index}] must have exactly path and target")
    path, target = item["path"], item["target"]
    if not isinstance(path, str) or not isinstance(target, str):
        raise InputError(f"{what}: symlinks[{index}]: path and target must be strings")
    return LinkEntry(path, target)
