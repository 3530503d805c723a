"""The release directory in the agent's layout (ADR 0004), built beside OUT and renamed in.

::

    OUT/release.json                     manifest of payload/ (name, version, expires)
    OUT/release.json.sigstore.json       signature over sha256(release.json)
    OUT/attestations/<step>.sigstore.json  one signed statement per step; subjects name release.json
    OUT/payload/...                      the build output, exactly as release.json lists it
    OUT/index.json                       the bundle list HTTP serving needs (unsigned, ADR 0004)

The manifest is built from the staged copy of the payload (what is hashed is
what is published); the signature and each attestation are verified with the
signer's trust policy (the key, or the keyless identity and the pinned Sigstore
root) before the rename. ``OUT`` appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign._internal.canonical import canonical_json
from nebsign.attest import Statement, Subject
from nebsign.errors import InputError
from nebsign.manifest import Manifest
from nebsign.release.model import StepResult
from nebsign.release.signer import ReleaseSigner

__all__ = [
    "INDEX_FILE",
    "MANIFEST_FILE",
    "PAYLOAD_DIR",
    "SIGNATURE_FILE",
    "check_paths",
    "copy_payload",
    "finish",
    "new_stage",
    "remove_stage",
]

MANIFEST_FILE = "release.json"
SIGNATURE_FILE = "release.json.sigstore.json"
INDEX_FILE = "index.json"
PAYLOAD_DIR = "payload"
ATTESTATIONS_DIR = "attestations"
_SUFFIX = ".sigstore.json"


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_paths(src: Path, build: Path, out: Path, *, force: bool) -> None:
    """SRC and BUILD are directories; OUT is outside both and free (or --force)."""
    for path, what in ((src, "SRC_DIR"), (build, "BUILD_DIR")):
        if not path.is_dir():
            raise InputError(f"{what} {path} is not a directory")
    real_out = out.resolve()
    for path, what in ((src, "SRC_DIR"), (build, "BUILD_DIR")):
        real = path.resolve()
        if _within(real_out, real) or _within(real, real_out):
            raise InputError(f"OUT {out} overlaps {what} {path}; write the release elsewhere")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"OUT {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"OUT {out} exists and is not empty", hint="remove it or pass --force")
    if out.parent.exists() and not out.parent.is_dir():
        raise InputError(f"the parent of OUT {out} is not a directory")


def new_stage(out: Path) -> Path:
    """A fresh private directory beside OUT (same filesystem, so the final rename is atomic)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise io_error(out.parent, exc, "create a directory in") from exc


def remove_stage(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)


class _SpecialFile(Exception):
    pass


def _copy_regular(src: str, dst: str) -> str:
    """shutil.copy2 for regular files only: a FIFO would block the copy, a device leak it."""
    mode = os.lstat(src).st_mode
    if not stat.S_ISREG(mode):
        raise _SpecialFile(src)
    return str(shutil.copy2(src, dst))


def copy_payload(build: Path, stage: Path) -> Path:
    """Copy the build output to ``stage/payload`` (symlinks kept as links, never followed)."""
    target = stage / PAYLOAD_DIR
    try:
        shutil.copytree(build, target, symlinks=True, copy_function=_copy_regular)
    except _SpecialFile as exc:
        raise InputError(
            f"BUILD_DIR has a special file (FIFO, socket or device): {exc.args[0]}",
            hint="a release holds regular files, directories and symlinks only",
        ) from exc
    except shutil.Error as exc:
        first = exc.args[0][0] if exc.args and exc.args[0] else ("", "", str(exc))
        raise InputError(f"cannot copy BUILD_DIR {build}: {first[2]}") from exc
    except OSError as exc:
        raise io_error(build, exc, "copy") from exc
    return target


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise io_error(path, exc) from exc


def _fsync_tree(root: Path) -> None:
    """Make every copied file and directory durable before the rename publishes them."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(dirpath)


def _verify(
    stage: Path,
    manifest_raw: bytes,
    signer: ReleaseSigner,
    names: Sequence[str],
    results: Sequence[StepResult],
    now: datetime,
) -> list[str]:
    """Judge the staged release with the one release check hosts run (nebsign.release_check),
    the signer's trust policy (what a host pins) and every step's predicate type required.

    A SAST verdict counts there only if it scanned the release's Python files byte for
    byte, so a release this accepts is one an agent requiring ``sast = pass`` accepts.
    The payload is not hashed again: the manifest was built from these very copies.
    """
    from nebsign.release_check import ReleaseRequirements, RequiredAttestation, verify_release

    policy = signer.trust_policy()
    required = tuple(
        RequiredAttestation(t, "pass") for t in sorted({r.predicate_type for r in results})
    )
    sig = (SIGNATURE_FILE, (stage / SIGNATURE_FILE).read_bytes())
    atts = [(name, (stage / name).read_bytes()) for name in names]
    verified = verify_release(
        manifest_raw,
        [sig],
        atts,
        policy,
        ReleaseRequirements(require_version=True, require_expires=True, attestations=required),
        now=now,
        what=f"the staged release {stage.name}",
    )
    return [f"{i.name} counts for nothing on hosts: {i.message}" for i in verified.ignored]


def finish(
    stage: Path,
    out: Path,
    manifest: Manifest,
    manifest_bytes: bytes,
    results: Sequence[StepResult],
    signer: ReleaseSigner,
    *,
    now: datetime,
    force: bool,
    after_verify: Callable[[Path], tuple[str, ...]] | None = None,
    note: Callable[[str], None] = lambda _line: None,
) -> tuple[str, ...]:
    """Sign, write the layout, verify it, and rename the stage to OUT. Returns the files written.

    *after_verify* (the public report) runs on the verified stage before the rename.
    Call inside ``signer.session()``.
    """
    digest = manifest.digest()
    _write(stage / MANIFEST_FILE, manifest_bytes)
    names = []
    for result in results:
        name = f"{ATTESTATIONS_DIR}/{result.attestation_name or result.step}{_SUFFIX}"
        subjects = (Subject(MANIFEST_FILE, digest), *result.subjects)
        statement = Statement(subjects, result.predicate_type, result.predicate)
        _write(stage / name, signer.sign_statement(statement).to_json())
        names.append(name)
    _write(stage / SIGNATURE_FILE, signer.sign_digest(digest).to_json())
    index = {"signatures": [SIGNATURE_FILE], "attestations": sorted(names)}
    _write(stage / INDEX_FILE, canonical_json(index))
    for line in _verify(stage, manifest_bytes, signer, names, results, now):
        note(line)
    extra = after_verify(stage) if after_verify is not None else ()
    _fsync_tree(stage)
    _swap_in(stage, out, force=force)
    return (MANIFEST_FILE, SIGNATURE_FILE, INDEX_FILE, *sorted(names), *extra, f"{PAYLOAD_DIR}/")


def _swap_in(stage: Path, out: Path, *, force: bool) -> None:
    old: Path | None = None
    try:
        if out.exists():
            if any(out.iterdir()) and not force:
                raise InputError(f"OUT {out} appeared while the release was built")
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "release")
        os.chmod(stage, 0o755)  # noqa: S103 - a published release is meant to be read
        os.rename(stage, out)
        fsync_dir(out.parent)
    except OSError as exc:
        raise io_error(out, exc, "publish") from exc
    finally:
        if old is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
