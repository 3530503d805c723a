"""Bounded reads of untrusted files."""

from __future__ import annotations

import os

from nebsign.errors import InputError

__all__ = ["read_bounded"]


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """Read at most *limit* bytes of *path*; more is an :class:`InputError`.

    ``-`` is not special here; the CLI handles stdin.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read(limit + 1)
    except IsADirectoryError as exc:
        raise InputError(f"{what} {name}: is a directory") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {name}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise InputError(f"{what} {name}: larger than the limit of {limit} bytes")
    return data
