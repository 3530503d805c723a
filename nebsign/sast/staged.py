"""``--staged``: scan what is about to be committed (the git index), not the disk.

The staged blobs are read with one ``git cat-file --batch`` process and
written into a private temporary directory under their repository paths; the
scanners run there and findings name the repository paths. A file fixed on
disk but still staged vulnerable is therefore still caught.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal.safepath import check_relpath
from nebsign.errors import EnvironmentFault, InputError
from nebsign.sast.runner import MAX_SOURCE_BYTES

__all__ = ["StagedTree", "git_root", "staged_tree"]


@dataclass(frozen=True, slots=True)
class StagedTree:
    """A temporary directory (*root*) holding the staged content of *files* of *repo*."""

    root: Path
    files: tuple[str, ...]
    repo: Path


def _git(args: Sequence[str], cwd: Path, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(  # noqa: S603 - fixed git argv, no shell
            ["git", *args],  # noqa: S607 - git from PATH, as every git hook does
            cwd=cwd,
            input=data,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EnvironmentFault("git is not installed", hint="install git") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()[:1] or ["failed"]
        raise InputError(f"git {args[0]}: {message[0]}", hint="run inside a git work tree")
    return proc.stdout


def git_root(cwd: Path) -> Path:
    """The top directory of the work tree containing *cwd*."""
    return Path(os.fsdecode(_git(["rev-parse", "--show-toplevel"], cwd).rstrip(b"\n")))


def _staged_entries(root: Path, cwd: Path, only: Sequence[str]) -> list[tuple[str, str]]:
    """(path, blob id) of the index entries to scan.

    With *only* (paths relative to *cwd*, as the hook passes them): the index
    version of exactly those files, changed or not (so ``pre-commit run
    --all-files`` scans everything). Without: every file whose staged content
    differs from HEAD (added, copied, modified, renamed).
    """
    if only:
        listing = _git(["--literal-pathspecs", "ls-files", "--stage", "-z", "--", *only], cwd)
        return _parse_stage(listing)
    names = _git(["diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z"], root)
    paths = [os.fsdecode(p) for p in names.split(b"\0") if p]
    if not paths:
        return []
    listing = _git(["--literal-pathspecs", "ls-files", "--stage", "-z", "--", *paths], root)
    return _parse_stage(listing)


def _parse_stage(listing: bytes) -> list[tuple[str, str]]:
    """Regular files of ``git ls-files --stage -z`` output (paths relative to the top)."""
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, blob, stage = meta.decode().split(" ")
        if mode not in ("100644", "100755") or stage != "0":
            continue  # symlinks and submodules hold no source to scan
        entries.append((check_relpath(os.fsdecode(name), "staged path"), blob))
    return sorted(set(entries))


@contextmanager
def staged_tree(
    cwd: Path, only: Sequence[str] = (), select: Callable[[str], bool] | None = None
) -> Iterator[StagedTree]:
    """Materialize the staged content of the files *select* accepts.

    *only* limits the git pathspec (the hook passes its file names);
    *select* is a ``Callable[[str], bool]`` (the policy's scope).
    """
    root = git_root(cwd)
    entries = _staged_entries(root, cwd, only)
    if select is not None:
        entries = [(p, b) for p, b in entries if select(p)]
    with tempfile.TemporaryDirectory(prefix="nebsign-staged-") as tmp:
        base = Path(tmp)
        if entries:
            request = b"".join(blob.encode() + b"\n" for _, blob in entries)
            out = _git(["cat-file", "--batch"], root, data=request)
            pos = 0
            for path, blob in entries:
                header_end = out.index(b"\n", pos)
                header = out[pos:header_end].split(b" ")
                if len(header) != 3 or header[0].decode() != blob:
                    raise EnvironmentFault(f"git cat-file returned an unexpected header for {path}")
                size = int(header[2])
                if size > MAX_SOURCE_BYTES:
                    raise InputError(f"staged {path}: larger than {MAX_SOURCE_BYTES} bytes")
                data = out[header_end + 1 : header_end + 1 + size]
                pos = header_end + 1 + size + 1
                target = base / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        yield StagedTree(base, tuple(p for p, _ in entries), root)
