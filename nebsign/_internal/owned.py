"""Open a file only if nobody but root (or this process's user) can have changed it.

What sshd's ``StrictModes`` and sudo check for their own configuration: the
file and every directory on the way to it from ``/`` must be owned by a
trusted uid (root or the effective uid of this process) and must not be
writable by group or others. A directory with the sticky bit (``/tmp``) may be
writable by others when a trusted uid owns it: nobody else can rename or
remove an entry they do not own in it, and the entry below it is checked too.

The path is walked one component at a time with ``openat(O_NOFOLLOW)``
relative to the directory already checked, so what is checked is what is
read. A symlink on the way is followed only if a trusted uid owns it (its
directory has been checked already), at most :data:`MAX_LINKS` times.
"""

from __future__ import annotations

import os
import stat
from collections import deque

from nebsign._internal.printable import printable
from nebsign.errors import InputError

__all__ = ["MAX_LINKS", "UnsafePath", "open_owned"]

MAX_LINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafePath(InputError):
    """A file or a directory above it could be changed by someone who is not trusted."""

    reason = "unsafe-path"


def _trusted() -> frozenset[int]:
    return frozenset({0, os.geteuid()})


def _check(path: str, st: os.stat_result, what: str, *, directory: bool) -> None:
    shown = printable(path)
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid not in _trusted():
        raise UnsafePath(
            f"{what}: {shown} is owned by uid {st.st_uid}, not by root or the agent's user",
            hint=f"chown root {shown}; whoever owns it decides what gets installed",
        )
    if not directory:
        if mode & 0o022:
            raise UnsafePath(
                f"{what}: {shown} is writable by group or others (mode {mode:04o})",
                hint=f"chmod go-w {shown}",
            )
        return
    if mode & 0o022 and not mode & stat.S_ISVTX:
        raise UnsafePath(
            f"{what}: directory {shown} is writable by group or others (mode {mode:04o}); "
            "the files below it could be replaced",
            hint=f"chmod go-w {shown}",
        )


def _join(parts: list[str]) -> str:
    return "/" + "/".join(parts)


def open_owned(path: str | os.PathLike[str], what: str) -> tuple[int, os.stat_result]:
    """Open *path* for reading after checking it and every directory above it.

    Returns the open descriptor and its ``fstat``. Raises :class:`UnsafePath`
    (exit 2) naming the first offending path, or :class:`InputError` when
    the file cannot be read or is not a regular file.
    """
    full = os.path.abspath(os.fspath(path))
    try:
        return _walk(full, what)
    except OSError as exc:
        raise InputError(f"cannot read {what} {full}: {exc.strerror or exc}") from exc


def _walk(full: str, what: str) -> tuple[int, os.stat_result]:
    pending = deque(p for p in full.split("/") if p)
    if not pending:
        raise InputError(f"{what}: {full} is not a file")
    done: list[str] = []
    links = 0
    fd = os.open("/", _DIR_FLAGS)
    try:
        _check("/", os.fstat(fd), what, directory=True)
        while pending:
            name = pending.popleft()
            if name == ".":
                continue
            if name == "..":
                if done:
                    done.pop()
                os.close(fd)
                fd = _reopen(done, what)
                continue
            here = _join([*done, name])
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                raise InputError(f"cannot read {what} {here}: {exc.strerror or exc}") from exc
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise InputError(f"{what} {full}: too many symbolic links")
                if st.st_uid not in _trusted():  # a link's own mode means nothing
                    _check(here, st, what, directory=False)
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    done = []
                    os.close(fd)
                    fd = _reopen(done, what)
                pending.extendleft(reversed([p for p in target.split("/") if p]))
                continue
            last = not pending
            try:
                nfd = os.open(name, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise InputError(f"cannot read {what} {here}: {exc.strerror or exc}") from exc
            os.close(fd)
            fd = nfd
            done.append(name)
            nst = os.fstat(fd)
            if last:
                if not stat.S_ISREG(nst.st_mode):
                    raise InputError(f"{what} {here}: not a regular file")
                _check(here, nst, what, directory=False)
                os.set_blocking(fd, True)
                result, fd = (fd, nst), -1
                return result
            _check(here, nst, what, directory=True)
        raise InputError(f"{what}: {full} is not a file")
    finally:
        if fd >= 0:
            os.close(fd)


def _reopen(parts: list[str], what: str) -> int:
    """A descriptor for the already-checked directory */parts* (after ``..`` or a link)."""
    fd = os.open("/", _DIR_FLAGS)
    try:
        _check("/", os.fstat(fd), what, directory=True)
        for i, name in enumerate(parts):
            nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
            _check(_join(parts[: i + 1]), os.fstat(fd), what, directory=True)
    except BaseException:
        os.close(fd)
        raise
    return fd
