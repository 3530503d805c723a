"""Make a staged release durable and give it its installed modes.

Used by :mod:`nebsign.agent.stage` once every file is staged and verified.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nebsign._internal.atomic import fsync_dir, io_error

__all__ = ["SYNCFS_MIN_FILES", "fsync_tree", "publish_modes"]

SYNCFS_MIN_FILES = 256


def publish_modes(stage: Path) -> None:
    """Give the staged tree the modes it is installed with, whatever the umask.

    Directories 0755, files 0755 when executable (the signed manifest's
    ``executable``, or the mode an unpacked archive member carries) else
    0644, never a set-id bit: a service running as another user can read the
    release it is switched to. The stage stays private meanwhile, because
    ``staging/`` itself is 0700. Links are not touched (nothing follows them).
    """
    try:
        for dirpath, dirnames, filenames in os.walk(stage):
            os.chmod(dirpath, 0o755)  # noqa: S103 - directories of a release service users read
            for name in (*dirnames, *filenames):
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode):
                    os.chmod(path, 0o755 if st.st_mode & 0o100 else 0o644)
    except OSError as exc:
        raise io_error(stage, exc, "chmod") from exc


def fsync_tree(root: Path) -> None:
    """Make every file and directory under *root* durable.

    Many files: one ``syncfs(2)`` of the staging filesystem instead of an
    ``fsync`` per file (10,000 small files would otherwise pay 10,000 journal
    commits). Few files: ``fsync`` each, so unrelated dirty data elsewhere on
    the filesystem is not flushed too. ``fsync`` is also the fallback where
    ``syncfs`` is unavailable.
    """
    if sum(len(files) for _, _, files in os.walk(root)) > SYNCFS_MIN_FILES:
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise io_error(root, exc, "fsync") from exc
        try:
            if _syncfs(fd):
                return
        finally:
            os.close(fd)
    try:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    continue
                ffd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                try:
                    os.fsync(ffd)
                finally:
                    os.close(ffd)
            fsync_dir(dirpath)
    except OSError as exc:
        raise io_error(root, exc, "fsync") from exc


def _syncfs(fd: int) -> bool:
    """``syncfs(fd)`` via libc; False when not available (then the caller fsyncs)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    if syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise io_error("staging", OSError(err, os.strerror(err)), "sync")
    return True
