"""Walk a release tree without following symlinks."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from nebsign.errors import InputError

__all__ = ["TreeListing", "walk_tree"]


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


def walk_tree(root: str, exclude: frozenset[str] = frozenset()) -> TreeListing:
    """List *root* recursively. Symlinks are recorded, never followed.

    Special files (FIFOs, sockets, devices) are an :class:`InputError`.
    *exclude* holds relative paths to leave out.
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        raise InputError(f"cannot read directory {root}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{root}: not a directory")
    listing = TreeListing()
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            raise InputError(f"cannot read directory {directory}: {exc.strerror or exc}") from exc
        for entry in entries:
            rel = prefix + os.fsdecode(entry.name) if prefix else os.fsdecode(entry.name)
            if rel in exclude:
                continue
            try:
                if entry.is_symlink():
                    listing.links.append((rel, os.readlink(entry.path)))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    listing.files.append((rel, entry.path))
                else:
                    mode = entry.stat(follow_symlinks=False).st_mode
                    raise InputError(f"{entry.path}: is {_kind(mode)}; releases hold files only")
            except OSError as exc:
                raise InputError(f"cannot read {entry.path}: {exc.strerror or exc}") from exc
    listing.files.sort()
    listing.links.sort()
    return listing
