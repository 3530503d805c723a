"""The per-file hashing loops of :mod:`nebsign._internal.hashpool` (one batch each).

:func:`_hash_group_batch_c` runs the C loop (:mod:`nebsign._speedups`, GIL
released) in a thread; :func:`_hash_group_batch` is the pure-Python loop run
in worker processes. Both take the same batches and return the same results.
"""

from __future__ import annotations

import array
import hashlib
import os
import stat
from collections.abc import Sequence
from typing import Any

from nebsign._internal import native
from nebsign._internal.walk import open_dir_beneath, shown_dir
from nebsign.digest import _OPEN_FLAGS, _SEQUENTIAL_MAX, _sha256_fresh_fd, _small_buffer


class _NotRegular(Exception):
    """A name that is no longer a regular file when opened."""


#: One group's results from a worker: sizes, the hex digests concatenated, one
#: byte per file that is 1 when any execute bit is set, error messages by index
#: (those files have size -1 and a zero digest), and the entries and their JSON
#: when the C loop built them (then the first three are empty).
_GroupResult = tuple[
    list[int], str, bytes, dict[int, str], "tuple[Any, ...] | None", "bytes | None"
]
#: What a batch holds per group: the directory and the names in it; or, for a
#: directory of a tree, the tree's root, the names, and the directory's
#: relative prefix ("" or "a/b/"), which is then opened beneath the root
#: without following symlinks (and entries are built when wanted).
#: Optionally a fourth item: the sizes the caller expects, packed as native int64
#: (``array("q").tobytes()``); a file of another size is not read (its size is
#: reported with a zero digest), so a check's reads are bounded by what it expects.
_Group = tuple[str, Sequence[str], "str | None"] | tuple[str, Sequence[str], "str | None", bytes]
_EXEC_BITS = 0o111
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC

_speedups = native.module


def _dir_failed(directory: str, names: Sequence[str], exc: OSError) -> _GroupResult:
    message = f"cannot read directory {directory}: {exc.strerror or exc}"
    n = len(names)
    return [-1] * n, "00" * 32 * n, bytes(n), dict.fromkeys(range(n), message), None, None


def _file_error(directory: str, name: str, err: int) -> str:
    """The message for one file the loop could not hash (*err*: errno, or -1)."""
    shown = f"{directory.rstrip('/')}/{name}"
    if err == _NOT_REGULAR:
        return f"cannot hash {shown}: not a regular file"
    return f"cannot read {shown}: {os.strerror(err)}"


_NOT_REGULAR = -1


def _hash_group_batch_c(batch: Sequence[_Group], entry_type: type | None) -> list[_GroupResult]:
    """Thread worker: :func:`_hash_group_batch` done by the C loop (GIL released).

    Groups with a prefix also get their entries (*entry_type* instances) and
    entries' JSON from the C side, so the caller's thread need not build them.
    Files over 16 MiB come back deferred and are hashed here by
    :func:`_hash_deferred`, as the Python loop hashes them.
    """
    assert _speedups is not None
    out: list[_GroupResult] = []
    for group in batch:
        directory, names, prefix = group[0], group[1], group[2]
        expected = group[3] if len(group) > 3 else None
        listed = names if isinstance(names, list) else list(names)
        shown = directory if prefix is None else shown_dir(directory, prefix)
        entries: tuple[Any, ...] | None = None
        json: bytes | None = None
        sizes: list[int] = []
        raw, execs = b"", b""
        try:
            if prefix is not None and not _utf8(prefix):
                out.extend(_hash_group_batch([group]))  # opened beneath the root, as in C
                continue
            if prefix is not None and entry_type is not None:
                entries, json, errnos = _speedups.hash_entries(
                    directory, listed, prefix, entry_type, _LARGE, expected
                )
            else:
                sizes, raw, execs, errnos = _speedups.hash_names(
                    directory, listed, _LARGE, expected
                )
            deferred = [i for i, err in errnos.items() if err == _DEFERRED]
            done = (
                _hash_deferred(directory, prefix, listed, deferred, _unpack(expected))
                if deferred
                else {}
            )
        except OSError as exc:
            out.append(_dir_failed(shown, names, exc))
            continue
        errors = {i: _file_error(shown, listed[i], e) for i, e in errnos.items() if e != _DEFERRED}
        errors.update((i, err) for i, (_, _, _, err) in done.items() if err is not None)
        if done and entries is not None and entry_type is not None:
            # Rebuilt with the digests; the caller makes this piece's JSON.
            rows = list(entries)
            for i, (size, hexdigest, executable, _) in done.items():
                rows[i] = entry_type(rows[i][0], size, hexdigest, executable)
            entries = tuple(rows)
        elif done:
            patched, flags = bytearray(raw), bytearray(execs)
            for i, (size, hexdigest, executable, _) in done.items():
                sizes[i] = size
                patched[32 * i : 32 * i + 32] = bytes.fromhex(hexdigest)
                flags[i] = int(executable)
            raw, execs = bytes(patched), bytes(flags)
        if errors:
            entries = json = None
        out.append((sizes, raw.hex(), execs, errors, entries, json))
    return out


_DEFERRED = -2  # the C loop's code for "larger than _LARGE: hash it yourself"
_LARGE = _SEQUENTIAL_MAX  # above this, sha256 through the reader-thread ring


def _utf8(text: str) -> bool:
    """True if *text* encodes as UTF-8. The C loop takes only such directory
    prefixes; a group in a non-UTF-8 directory is hashed by the Python loop,
    whose results the caller refuses by name (not valid UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unpack(expected: bytes | None) -> Sequence[int] | None:
    if expected is None:
        return None
    sizes = array.array("q")
    sizes.frombytes(expected)
    return sizes


def _hash_deferred(
    directory: str,
    prefix: str | None,
    names: list[str],
    indices: list[int],
    expected: Sequence[int] | None = None,
) -> dict[int, tuple[int, str, bool, str | None]]:
    """Hash the files the C loop deferred: (size, hex digest, executable, error or None) each.

    Opened the way the C loop opens files (beneath the root when *prefix* is
    given, without following a final symlink), then streamed through
    :func:`nebsign.digest._sha256_fresh_fd` (a reader thread overlapping the
    copy with SHA-256).
    """
    shown = directory if prefix is None else shown_dir(directory, prefix)
    dfd = os.open(directory, _DIR_FLAGS) if prefix is None else open_dir_beneath(directory, prefix)
    out: dict[int, tuple[int, str, bool, str | None]] = {}
    try:
        for i in indices:
            try:
                fd = os.open(names[i], _OPEN_FLAGS, dir_fd=dfd)
                try:
                    st = os.fstat(fd)
                    if not stat.S_ISREG(st.st_mode):
                        out[i] = (-1, "00" * 32, False, _file_error(shown, names[i], _NOT_REGULAR))
                        continue
                    executable = bool(st.st_mode & _EXEC_BITS)
                    if expected is not None and st.st_size != expected[i]:
                        out[i] = (st.st_size, "00" * 32, executable, None)  # not read
                        continue
                    digest = _sha256_fresh_fd(fd, st.st_size)
                    out[i] = (digest.size, digest.sha256, executable, None)
                finally:
                    os.close(fd)
            except OSError as exc:
                out[i] = (-1, "00" * 32, False, _file_error(shown, names[i], exc.errno or 0))
    finally:
        os.close(dfd)
    return out


def _hash_group_batch(batch: Sequence[_Group]) -> list[_GroupResult]:
    """Worker: digest each name relative to its directory (one dir fd per group).

    The loop is deliberately tight (locals, no per-file helper calls, one
    reused buffer): for small files the per-file overhead, not SHA-256, is
    the cost. Results are packed (one hex string per group) because
    pickling a Python object per file back to the parent would cost more
    than hashing a 4 KiB file. Errors come back as messages by index.
    """
    out: list[_GroupResult] = []
    buf = _small_buffer()
    view = memoryview(buf)
    limit = len(buf)
    sha256 = hashlib.sha256
    open_, fstat, readv, close, isreg = os.open, os.fstat, os.readv, os.close, stat.S_ISREG
    for group in batch:
        root, names, prefix = group[0], group[1], group[2]
        expected = _unpack(group[3] if len(group) > 3 else None)
        sizes: list[int] = []
        digests = bytearray()
        execs = bytearray()
        errors: dict[int, str] = {}
        directory = root if prefix is None else shown_dir(root, prefix)
        try:
            dfd = open_(root, _DIR_FLAGS) if prefix is None else open_dir_beneath(root, prefix)
        except OSError as exc:
            out.append(_dir_failed(directory, names, exc))
            continue
        try:
            for i, name in enumerate(names):
                try:
                    fd = open_(name, _OPEN_FLAGS, dir_fd=dfd)
                    try:
                        st = fstat(fd)
                        if not isreg(st.st_mode):
                            raise _NotRegular
                        executable = 1 if st.st_mode & _EXEC_BITS else 0
                        if expected is not None and st.st_size != expected[i]:
                            n, raw = st.st_size, bytes(32)  # not the expected size: not read
                        elif (n := readv(fd, [buf]) if st.st_size < limit else limit) < limit:
                            raw = sha256(view[:n]).digest()
                        else:
                            os.lseek(fd, 0, os.SEEK_SET)
                            big = _sha256_fresh_fd(fd, st.st_size)
                            n, raw = big.size, bytes.fromhex(big.sha256)
                    finally:
                        close(fd)
                except _NotRegular:
                    errors[i] = _file_error(directory, name, _NOT_REGULAR)
                    n, raw, executable = -1, bytes(32), 0
                except OSError as exc:
                    errors[i] = _file_error(directory, name, exc.errno or 0)
                    n, raw, executable = -1, bytes(32), 0
                sizes.append(n)
                digests += raw
                execs.append(executable)
        finally:
            close(dfd)
        out.append((sizes, digests.hex(), bytes(execs), errors, None, None))
    return out
