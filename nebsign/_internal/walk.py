"""Walk a release tree without following symlinks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from nebsign.errors import InputError

__all__ = ["DirListing", "TreeListing", "iter_tree", "walk_tree"]


@dataclass(slots=True)
class DirListing:
    """One directory: its path, its relative prefix (``""`` or ``"a/b/"``), files, links."""

    path: str
    prefix: str
    files: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class TreeListing:
    """Regular files (relpath, path) and symlinks (relpath, target), sorted by relpath."""

    files: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "a special file"


_FILE, _LINK, _DIR = 0, 1, 2


def _read_dir(
    directory: str, prefix: str, exclude: frozenset[str]
) -> list[tuple[str, int, str, str]]:
    """Entries of one directory as (sort key, kind, name, link target), sorted.

    The sort key is the name, plus ``/`` for directories: sorting siblings by
    it and descending in that order visits paths in exactly the order of
    sorting the full relative paths (a name can hold no ``/``), so a walk
    needs no global sort.
    """
    out: list[tuple[str, int, str, str]] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                name = entry.name
                if exclude and prefix + name in exclude:
                    continue
                if entry.is_symlink():
                    out.append((name, _LINK, name, os.readlink(entry.path)))
                elif entry.is_dir(follow_symlinks=False):
                    out.append((name + "/", _DIR, name, ""))
                elif entry.is_file(follow_symlinks=False):
                    out.append((name, _FILE, name, ""))
                else:
                    mode = entry.stat(follow_symlinks=False).st_mode
                    raise InputError(f"{entry.path}: is {_kind(mode)}; releases hold files only")
    except OSError as exc:
        raise InputError(f"cannot read directory {directory}: {exc.strerror or exc}") from exc
    out.sort()
    return out


def iter_tree(root: str, exclude: frozenset[str] = frozenset()) -> Iterator[DirListing]:
    """Yield runs of files and links under *root*, in sorted relative-path order.

    A directory's entries may come in several runs (split around its
    subdirectories), so concatenating every run's ``prefix + name`` gives
    all paths already sorted. Symlinks are recorded by target, never
    followed. Special files (FIFOs, sockets, devices) are an
    :class:`InputError`. *exclude* holds relative paths to leave out.
    Yielding as it reads lets the caller hash while the walk goes on.
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        raise InputError(f"cannot read directory {root}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{root}: not a directory")
    stack = [(root, "", _read_dir(root, "", exclude), 0)]
    while stack:
        directory, prefix, entries, i = stack.pop()
        run = DirListing(directory, prefix)
        while i < len(entries):
            _, kind, name, target = entries[i]
            i += 1
            if kind == _FILE:
                run.files.append(name)
            elif kind == _LINK:
                run.links.append((name, target))
            else:
                stack.append((directory, prefix, entries, i))
                sub = os.path.join(directory, name)
                stack.append(
                    (sub, f"{prefix}{name}/", _read_dir(sub, f"{prefix}{name}/", exclude), 0)
                )
                break
        if run.files or run.links:
            yield run


def walk_tree(root: str, exclude: frozenset[str] = frozenset()) -> TreeListing:
    """The whole listing of *root* at once, sorted by relative path."""
    out = TreeListing()
    for d in iter_tree(root, exclude):
        sep = "" if d.path.endswith("/") else "/"
        out.files.extend((d.prefix + name, f"{d.path}{sep}{name}") for name in d.files)
        out.links.extend((d.prefix + name, target) for name, target in d.links)
    out.files.sort()
    out.links.sort()
    return out
