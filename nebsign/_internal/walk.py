"""Walk a release tree without following symlinks."""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from nebsign._internal import native
from nebsign.errors import InputError

__all__ = [
    "DirListing",
    "TreeListing",
    "iter_tree",
    "open_dir_beneath",
    "shown_dir",
    "walk_tree",
]


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


_DIR_BENEATH = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_dir_beneath(root: str, prefix: str) -> int:
    """A descriptor of directory *prefix* (``""`` or ``"a/b/"``) beneath *root*.

    Opened one component at a time without following symlinks, so a
    directory swapped for a symlink while a tree is read fails instead of
    leading outside it (the root itself may be a symlink: the user named it).
    The C loop does the same (``open_beneath`` in ``_speedups.c``).
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in prefix.split("/"):
            if part:
                below = os.open(part, _DIR_BENEATH, dir_fd=fd)
                os.close(fd)
                fd = below
    except BaseException:
        os.close(fd)
        raise
    return fd


def shown_dir(root: str, prefix: str) -> str:
    """The path of directory *prefix* beneath *root*, for messages."""
    return os.path.join(root, prefix[:-1]) if prefix else root


def _scan_dir(root: str, prefix: str = "") -> tuple[list[str], list[str], list[str], list[str]]:
    """Names of files, directories, symlinks and anything else in *prefix* beneath *root*."""
    files: list[str] = []
    dirs: list[str] = []
    links: list[str] = []
    others: list[str] = []
    fd = open_dir_beneath(root, prefix)
    try:
        with os.scandir(fd) as it:
            for entry in it:
                # Regular files first: one d_type test for the common case.
                if entry.is_file(follow_symlinks=False):
                    files.append(entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                elif entry.is_symlink():
                    links.append(entry.name)
                else:
                    others.append(entry.name)
    finally:
        os.close(fd)
    return files, dirs, links, others


BUNDLE_SUFFIX = ".sigstore.json"


def _without_bundles(files: list[str]) -> list[str]:
    """*files* without ``NAME.sigstore.json`` where NAME is a sibling file (its signature)."""
    names = set(files)
    cut = len(BUNDLE_SUFFIX)
    return [n for n in files if not (n.endswith(BUNDLE_SUFFIX) and n[:-cut] in names)]


def _read_dir(
    root: str, prefix: str, exclude: frozenset[str] | None, skip_bundles: bool = False
) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Directory *prefix* of the tree at *root*: (file names, (link name, target),
    subdirectory names), each sorted."""
    directory = shown_dir(root, prefix)
    try:
        # The C listing reads the directory with the GIL released (ADR 0005).
        lister = native.module.list_dir if native.available() else _scan_dir
        files, dirs, link_names, others = lister(root, prefix)
        if others:
            path = os.path.join(directory, min(others))
            mode = os.lstat(path).st_mode
            raise InputError(f"{path}: is {_kind(mode)}; releases hold files only")
        links = [(name, os.readlink(os.path.join(directory, name))) for name in link_names]
    except OSError as exc:
        raise InputError(f"cannot read directory {directory}: {exc.strerror or exc}") from exc
    if skip_bundles:
        files = _without_bundles(files)
    if exclude:  # names (not paths) left out in this directory
        files = [n for n in files if n not in exclude]
        links = [x for x in links if x[0] not in exclude]
        dirs = [n for n in dirs if n not in exclude]
    files.sort()
    links.sort()
    dirs.sort(key=_dir_key)
    return files, links, dirs


def _dir_key(name: str) -> str:
    return name + "/"


def iter_tree(
    root: str, exclude: frozenset[str] = frozenset(), *, skip_bundles: bool = False
) -> Iterator[DirListing]:
    """Yield runs of files and links under *root*, in sorted relative-path order.

    Siblings sort by name, with ``/`` appended to directory names; descending
    in that order visits paths exactly in the order of sorting full relative
    paths (a name holds no ``/``). A directory's entries therefore come in
    runs split around its subdirectories (found by bisecting the sorted
    names), and concatenating every run's ``prefix + name`` gives all paths
    already sorted. Symlinks are recorded by target, never followed. Special
    files (FIFOs, sockets, devices) are an :class:`InputError`. *exclude*
    holds relative paths to leave out; *skip_bundles* also leaves out each
    ``NAME.sigstore.json`` beside a file NAME (a signature of the release's
    file is not part of it). Yielding as it reads lets the caller hash while
    the walk goes on.
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        raise InputError(f"cannot read directory {root}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{root}: not a directory")
    # Excluded paths by directory prefix, so a directory without any costs
    # one dict lookup instead of a string built per name.
    by_dir: dict[str, set[str]] = {}
    for path in exclude:
        head, sep, name = path.rpartition("/")
        by_dir.setdefault(head + sep, set()).add(name)  # prefix + name == path
    skip = {prefix: frozenset(names) for prefix, names in by_dir.items()}
    files, links, dirs = _read_dir(root, "", skip.get(""), skip_bundles)
    # Stack items: directory, prefix, its sorted listing, next subdirectory index,
    # and how many of its files and links have been yielded.
    stack = [(root, "", files, links, dirs, 0, 0, 0)]
    while stack:
        directory, prefix, files, links, dirs, di, fi, li = stack.pop()
        if di < len(dirs):
            key = dirs[di] + "/"
            fj = bisect.bisect_left(files, key, fi)
            lj = bisect.bisect_left(links, (key,), li)
            stack.append((directory, prefix, files, links, dirs, di + 1, fj, lj))
            sub = os.path.join(directory, dirs[di])
            sub_prefix = f"{prefix}{dirs[di]}/"
            listing = _read_dir(root, sub_prefix, skip.get(sub_prefix), skip_bundles)
            stack.append((sub, sub_prefix, *listing, 0, 0, 0))
        else:
            fj, lj = len(files), len(links)
        if fj > fi or lj > li:
            run = DirListing(directory, prefix)
            run.files = files[fi:fj] if (fi or fj < len(files)) else files
            run.links = links[li:lj]
            # The run before a subdirectory must come out before the subdirectory's own.
            if di < len(dirs):
                sub_item = stack.pop()
                yield run
                stack.append(sub_item)
            else:
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
