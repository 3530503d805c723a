"""``--staged``: scan what is about to be committed (the git index), not the disk.

The staged blobs are read with one ``git cat-file --batch`` process and
written into a private temporary directory under their repository paths; the
scanners run there and findings name the repository paths. A file fixed on
disk but still staged vulnerable is therefore still caught.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal.safepath import check_relpath
from nebsign.errors import EnvironmentFault, InputError
from nebsign.sast.runner import MAX_SOURCE_BYTES

__all__ = ["StagedTree", "git_root", "read_staged", "staged_tree"]


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


_LINK = "120000"
_FILE_MODES = ("100644", "100755")
_MAX_LINK_HOPS = 16


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: str
    blob: str


def _index(cwd: Path, pathspec: Sequence[str] = ()) -> dict[str, _Entry]:
    """Stage-0 index entries (path relative to the top -> mode, blob)."""
    args = ["--literal-pathspecs", "ls-files", "--stage", "-z", "--full-name"]
    listing = _git([*args, "--", *pathspec] if pathspec else args, cwd)
    out = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, blob, stage = meta.decode().split(" ")
        if stage == "0" and (mode in _FILE_MODES or mode == _LINK):
            out[check_relpath(os.fsdecode(name), "staged path")] = _Entry(mode, blob)
    return out


def _cat(root: Path, blobs: Sequence[str]) -> dict[str, bytes]:
    """Contents of *blobs* with one ``git cat-file --batch``, each bounded."""
    unique = sorted(set(blobs))
    if not unique:
        return {}
    out = _git(["cat-file", "--batch"], root, data=b"".join(b.encode() + b"\n" for b in unique))
    found: dict[str, bytes] = {}
    pos = 0
    for blob in unique:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split(b" ")
        if len(header) != 3 or header[0].decode() != blob:
            raise EnvironmentFault(f"git cat-file returned an unexpected header for {blob}")
        size = int(header[2])
        if size > MAX_SOURCE_BYTES:
            raise InputError(f"staged blob {blob}: larger than {MAX_SOURCE_BYTES} bytes")
        found[blob] = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return found


def _resolve(link: str, index: Mapping[str, _Entry], targets: Mapping[str, bytes]) -> str:
    """The index path a staged symlink leads to; one leaving the repository is refused."""
    path, hops = link, 0
    while index[path].mode == _LINK:
        hops += 1
        target = os.fsdecode(targets[index[path].blob])
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if (
            target.startswith("/")
            or joined == ".."
            or joined.startswith("../")
            or hops > _MAX_LINK_HOPS
        ):
            raise InputError(
                f"staged {link}: a symlink leading outside the repository ({target})",
                hint="Python would import what it points to, which no scan covers",
            )
        path = joined
        if path not in index:
            break
    return path


def _selected(
    root: Path, cwd: Path, only: Sequence[str]
) -> tuple[dict[str, _Entry], dict[str, str]]:
    """(the whole index, scanned name -> index path holding its content).

    With *only* (paths relative to *cwd*, as the hook passes them): exactly
    those entries, changed or not (so ``pre-commit run --all-files`` scans
    everything). Without: every entry whose staged content or type differs
    from HEAD, and every symlink leading to one. A symlink is scanned under
    its own name with its target's content; one to a directory stands for
    every file below it.
    """
    index = _index(root)
    if only:
        wanted = set(_index(cwd, only))
    else:
        names = _git(["diff", "--cached", "--name-only", "--diff-filter=ACMRT", "-z"], root)
        wanted = {os.fsdecode(p) for p in names.split(b"\0") if p} & set(index)
    links = {p: e for p, e in index.items() if e.mode == _LINK}
    targets = _cat(root, [e.blob for e in links.values()])
    chosen: dict[str, str] = {}
    for path, entry in index.items():
        if entry.mode != _LINK:
            if path in wanted:
                chosen[path] = path
            continue
        end = _resolve(path, index, targets)
        if end in index:
            if path in wanted or end in wanted:
                chosen[path] = end
            continue
        prefix = end + "/"
        for other in index:
            inside = other.startswith(prefix) and index[other].mode != _LINK
            if inside and (path in wanted or other in wanted):
                chosen[path + "/" + other[len(prefix) :]] = other
    return index, chosen


@contextmanager
def staged_tree(
    cwd: Path,
    only: Sequence[str] = (),
    select: Callable[[str, bytes, bool], bool] | None = None,
) -> Iterator[StagedTree]:
    """Materialize the staged content of the files in scope.

    *only* limits the git pathspec (the hook passes its file names);
    *select(name, first_bytes, executable)* is the policy's scope.
    """
    root = git_root(cwd)
    index, chosen = _selected(root, cwd, only)
    contents = _cat(root, [index[p].blob for p in chosen.values()])
    with tempfile.TemporaryDirectory(prefix="nebsign-staged-") as tmp:
        base = Path(tmp)
        files = []
        for name, source in sorted(chosen.items()):
            data = contents[index[source].blob]
            executable = index[source].mode == "100755"
            if select is not None and not select(name, data[:256], executable):
                continue
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files.append(name)
        yield StagedTree(base, tuple(files), root)


def read_staged(cwd: Path, path: str, limit: int) -> bytes | None:
    """The staged content of *path* (relative to the top), or None if it is not in the index."""
    root = git_root(cwd)
    entry = _index(root, [path]).get(path)
    if entry is None or entry.mode not in _FILE_MODES:
        return None
    data = _cat(root, [entry.blob])[entry.blob]
    if len(data) > limit:
        raise InputError(f"staged {path}: larger than the limit of {limit} bytes")
    return data
