"""The one SHA-256 path: bytes, streams, files and trees.

* Large files stream through a small ring of big buffers: a reader thread
  ``readinto``s the next buffer while the calling thread hashes the previous
  one (hashlib releases the GIL), so reading and hashing overlap and memory
  stays bounded (``RING * CHUNK`` bytes whatever the file size).
* Small files are read with one ``readv`` into a buffer reused for every file:
  no per-file allocation beyond the hash object.
* Many files are hashed in parallel by worker processes
  (:mod:`nebsign._internal.hashpool`), each given large batches (no per-file task).

The file-descriptor loops live in :mod:`nebsign._internal.fdhash`, which the
tree loops use too; this module is their public face (ADR 0019).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from typing import BinaryIO

from nebsign._internal.fdhash import (
    SEQUENTIAL_MAX as _SEQUENTIAL_MAX,  # noqa: F401 - the large-file threshold, named here too
)
from nebsign._internal.fdhash import (
    FileDigest,
    Progress,
    TooLarge,
    hash_stream_threaded,
    open_regular,
    sha256_fresh_fd,
)
from nebsign.errors import InputError

__all__ = [
    "DIGEST_RE",
    "FileDigest",
    "TooLarge",
    "format_digest",
    "hash_files",
    "parse_digest",
    "sha256_bytes",
    "sha256_file",
    "sha256_stream",
]

#: ``sha256:<64 lowercase hex>``
DIGEST_RE = re.compile(r"sha256:([0-9a-f]{64})")
_HEX_RE = re.compile(r"[0-9a-f]{64}")


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def format_digest(hexdigest: str) -> str:
    """``sha256:<hex>`` for a 64-character lowercase hex digest."""
    if not _HEX_RE.fullmatch(hexdigest):
        raise InputError(f"not a SHA-256 hex digest: {hexdigest[:80]!r}")
    return f"sha256:{hexdigest}"


def parse_digest(text: str) -> str:
    """Hex part of a ``sha256:<hex>`` string, or :class:`InputError`."""
    match = DIGEST_RE.fullmatch(text)
    if match is None:
        raise InputError(f"not a sha256:<64 hex> digest: {text[:80]!r}")
    return match.group(1)


def sha256_stream(
    stream: BinaryIO,
    progress: Progress | None = None,
    *,
    sink: Callable[[memoryview], object] | None = None,
    limit: int | None = None,
) -> FileDigest:
    """Hash a binary stream to EOF in bounded memory.

    With *sink*, every chunk is also handed to it after hashing (one pass
    that reads, hashes and copies). More than *limit* bytes raises
    :class:`TooLarge`.
    """
    readinto = getattr(stream, "readinto", None)
    if readinto is None:

        def _fallback(view: memoryview) -> int:
            data = stream.read(len(view))
            view[: len(data)] = data
            return len(data)

        return hash_stream_threaded(_fallback, progress, sink, limit)
    return hash_stream_threaded(lambda view: readinto(view) or 0, progress, sink, limit)


def sha256_file(path: str | os.PathLike[str], progress: Progress | None = None) -> FileDigest:
    """Size and SHA-256 of a regular file (a symlink is refused, not followed)."""
    name = os.fspath(path)
    fd, size = open_regular(name)
    try:
        return sha256_fresh_fd(fd, size, progress)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def hash_files(
    paths: Sequence[str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[FileDigest]:
    """Digest many regular files (in parallel when worthwhile), in the order given."""
    from nebsign._internal.hashpool import hash_groups

    groups: list[tuple[str, list[str]]] = []
    for path in paths:
        directory, name = os.path.split(path)
        directory = directory or "."
        if groups and groups[-1][0] == directory:
            groups[-1][1].append(name)
        else:
            groups.append((directory, [name]))
    return [d for group in hash_groups(groups, workers=workers, progress=progress) for d in group]
