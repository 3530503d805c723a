"""Local file -> staged file with ``copy_file_range`` in a thread, hashing the staged copy.

Used by :func:`nebsign._internal.fetch.fetch_to_fd` for local sources.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from typing import Any

from nebsign.digest import FileDigest, sha256_stream

__all__ = ["KernelCopyTimeout", "copy_kernel"]

_KCHUNK = 8 * 1024 * 1024  # bytes per copy_file_range call


class KernelCopyTimeout(Exception):
    """The copy exceeded its deadline."""


_SYNC_FILE_RANGE_WRITE = 2
_libc_sync_file_range: Any = None


def _start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing this range to disk now (``sync_file_range``).

    Asynchronous; it only lets the final ``fsync`` find most of the file
    already on its way to disk instead of starting then. Best effort: a
    missing ``sync_file_range`` or an error changes nothing but speed.
    """
    global _libc_sync_file_range
    if _libc_sync_file_range is None:
        import ctypes
        import ctypes.util

        try:
            func = ctypes.CDLL(ctypes.util.find_library("c") or None).sync_file_range
            func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            func.restype = ctypes.c_int
            _libc_sync_file_range = func
        except (OSError, AttributeError):
            _libc_sync_file_range = False
    if _libc_sync_file_range:
        _libc_sync_file_range(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)


class _KernelCopy:
    """Local file -> staged file with ``copy_file_range`` in a thread; hash the staged copy.

    The copier thread moves the source into the destination in the kernel
    (no user-space copy); :meth:`readinto` hands the bytes that have landed
    in the destination to :func:`~nebsign.digest.sha256_stream` with
    ``pread``. The source is read once, and the digest is of exactly the
    bytes that were staged, while copying and hashing overlap.
    """

    def __init__(self, src_fd: int, dst_fd: int, limit: int, deadline: float, shown: str) -> None:
        self.src_fd, self.dst_fd = src_fd, dst_fd
        self.limit, self.deadline, self.shown = limit, deadline, shown
        self.copied = 0
        self.done = False
        self.error: BaseException | None = None
        self.pos = 0
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._copy, name="nebsign-kernel-copy", daemon=True)

    def probe(self) -> bool:
        """Copy the first chunk in this thread; False if copy_file_range is unusable here."""
        try:
            n = os.copy_file_range(self.src_fd, self.dst_fd, min(_KCHUNK, self.limit + 1))
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                return False
            raise
        self.copied = n
        self.done = n == 0
        if not self.done:
            self.thread.start()
        return True

    def _copy(self) -> None:
        try:
            while True:
                if time.monotonic() > self.deadline:
                    with self.cond:
                        self.error = KernelCopyTimeout(f"{self.shown}: copy exceeded its deadline")
                        self.done = True
                        self.cond.notify_all()
                    return
                want = min(_KCHUNK, self.limit + 1 - self.copied)
                n = os.copy_file_range(self.src_fd, self.dst_fd, want) if want > 0 else 0
                if n:
                    _start_writeback(self.dst_fd, self.copied, n)
                with self.cond:
                    self.copied += n
                    if n == 0 or self.copied > self.limit:
                        self.done = True
                    self.cond.notify_all()
                if self.done:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the hashing side
            with self.cond:
                self.error = exc
                self.done = True
                self.cond.notify_all()

    def readinto(self, view: memoryview) -> int:
        with self.cond:
            while self.pos >= self.copied and not self.done:
                self.cond.wait()
            if self.error is not None:
                raise self.error
            avail = self.copied - self.pos
        if avail <= 0:
            return 0
        n = os.preadv(self.dst_fd, [view[: min(len(view), avail)]], self.pos)
        self.pos += n
        return n

    def join(self) -> None:
        if self.thread.is_alive():
            self.thread.join()


def copy_kernel(
    src_fd: int, dst_fd: int, limit: int, deadline: float, shown: str
) -> FileDigest | None:
    """Overlapped kernel copy + hash of the staged bytes; None if not supported."""
    job = _KernelCopy(src_fd, dst_fd, limit, deadline, shown)
    if not job.probe():
        return None
    try:
        return sha256_stream(job, limit=limit)  # type: ignore[arg-type]
    finally:
        job.join()
