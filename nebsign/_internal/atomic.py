"""Atomic, durable writes: temp file in the same directory, fsync, rename, fsync dir.

:func:`write_output` is what every output option (``-o``, ``--sarif``,
``--manifest``, …) uses: it never destroys what the path names. A regular
file or a new path is replaced atomically; a character device or a FIFO
(``/dev/null``) is written to in place; the process's own descriptors
(``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``) are written directly, as a
shell does; any other symlink is followed to its target, which gets the same
treatment (the link stays). Directories, block devices, sockets and dangling
symlinks are refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO

from nebsign.errors import EnvironmentFault, InputError, NebsignError

__all__ = ["atomic_write", "atomic_writer", "fsync_dir", "io_error", "write_output"]


def io_error(path: str | os.PathLike[str], exc: OSError, action: str = "write") -> NebsignError:
    """Map an OSError to the right nebsign error (disk full is the environment)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return EnvironmentFault(f"cannot {action} {os.fspath(path)}: {exc.strerror}")
    return InputError(f"cannot {action} {os.fspath(path)}: {exc.strerror or exc}")


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """fsync a directory so a rename inside it is durable."""
    fd = os.open(os.fspath(directory), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it atomically replaces *path*.

    On any exception the temp file is removed and *path* is untouched.
    """
    target = os.fspath(path)
    directory, name = os.path.split(target)
    directory = directory or "."
    try:
        fd, tmp = _create_temp(directory, name)
    except OSError as exc:
        raise io_error(target, exc) from exc
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise io_error(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _create_temp(directory: str, name: str) -> tuple[int, str]:
    """A new private file beside the target (like ``tempfile.mkstemp``, without its import)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Atomically replace *path* with *data* (fsynced file and directory)."""
    with atomic_writer(path, mode) as fh:
        fh.write(data)


_OWN_FD = re.compile(r"/(?:dev/fd|proc/self/fd)/([0-9]{1,6})")
_STD = {"/dev/stdout": 1, "/dev/stderr": 2}


def _own_fd(path: str) -> int | None:
    """The descriptor a path names when it is this process's own (``/dev/stdout``,
    ``/dev/fd/N``): written directly, as a shell does, so ``>>`` keeps appending."""
    name = os.path.normpath(path)
    if name in _STD:
        return _STD[name]
    found = _OWN_FD.fullmatch(name)
    return int(found.group(1)) if found else None


def write_output(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Write *data* to an output path without destroying what the path is (see module doc)."""
    target = os.fspath(path)
    fd = _own_fd(target)
    if fd is not None:
        try:
            _write_all(fd, data)
        except OSError as exc:
            raise io_error(target, exc) from exc
        return
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        atomic_write(target, data, mode)
        return
    except OSError as exc:
        raise io_error(target, exc) from exc
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(target)  # follows the link (and /proc's magic links: /dev/stdout)
        except FileNotFoundError:
            raise InputError(
                f"cannot write {target}: a symlink to {os.readlink(target)}, which does not exist",
                hint="create the target first, or give the real path",
            ) from None
        except OSError as exc:
            raise io_error(target, exc) from exc
        if stat.S_ISREG(st.st_mode):
            target = os.path.realpath(target)  # replace the target; the link stays
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFREG:
        atomic_write(target, data, mode)
    elif kind in (stat.S_IFCHR, stat.S_IFIFO):
        _write_through(target, data)  # through the link, if it is one
    else:
        what = {stat.S_IFDIR: "a directory", stat.S_IFBLK: "a block device"}.get(kind, "a socket")
        raise InputError(f"cannot write {os.fspath(path)}: it is {what}")


def _write_through(target: str, data: bytes) -> None:
    """Write into an existing character device or FIFO (no create, no truncate, no rename)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise io_error(target, exc) from exc
    try:
        if stat.S_IFMT(os.fstat(fd).st_mode) not in (stat.S_IFCHR, stat.S_IFIFO):
            raise InputError(f"cannot write {target}: it changed while being opened")
        _write_all(fd, data)
    except OSError as exc:
        raise io_error(target, exc) from exc
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
