"""Atomic, durable writes: temp file in the same directory, fsync, rename, fsync dir."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import BinaryIO

from nebsign.errors import EnvironmentFault, InputError, NebsignError

__all__ = ["atomic_write", "atomic_writer", "fsync_dir", "io_error"]


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
