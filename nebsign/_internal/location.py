"""Release locations (a directory path or an ``http(s)://`` URL) as text and as parts.

:func:`redact` is the one place a location becomes text for a message or the
audit log: credentials, query and fragment dropped, every character escaped
(:func:`nebsign._internal.printable.printable`), never an exception.
:func:`check_url` refuses, as bad input, a URL that cannot be fetched as
written (a port that is not a number, a broken IPv6 literal, no host).
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator

from nebsign._internal.printable import printable
from nebsign.errors import InputError

__all__ = ["check_url", "is_url", "join_location", "location_alias", "redact"]


def is_url(location: str) -> bool:
    """True for ``http://`` and ``https://`` locations."""
    return location.startswith(("http://", "https://"))


def join_location(base: str, relpath: str) -> str:
    """*relpath* (already checked safe) under *base* (a directory path or URL).

    A URL keeps its user info and query (e.g. a token) for every file.
    """
    if is_url(base):
        parts = urllib.parse.urlsplit(base)
        path = parts.path.rstrip("/") + "/" + urllib.parse.quote(relpath, safe="/")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return os.path.join(base, *relpath.split("/"))


_aliases: dict[str, str] = {}


@contextlib.contextmanager
def location_alias(location: str, shown: str) -> Iterator[None]:
    """Name *location* (e.g. ``/proc/self/fd/N`` of an opened directory) *shown* in messages."""
    _aliases[location] = shown
    try:
        yield
    finally:
        del _aliases[location]


def redact(location: str) -> str:
    """*location* for logs and errors: escaped, without URL user info, query or fragment.

    Never raises, whatever the location holds (a bad port or IPv6 literal
    is shown as far as it parses).
    """
    for prefix, shown in _aliases.items():
        if location == prefix or location.startswith(prefix + "/"):
            return shown + printable(location[len(prefix) :])
    if not is_url(location):
        return printable(location)
    try:
        parts = urllib.parse.urlsplit(location)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return printable(location.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2])
    return printable(urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", "")))


def check_url(location: str) -> None:
    """Refuse (:class:`InputError`, exit 2) an http(s) URL that cannot be fetched as written."""
    shown = redact(location)
    try:
        parts = urllib.parse.urlsplit(location)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InputError(f"invalid URL {shown!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InputError(f"invalid URL {shown!r}: only http:// and https:// are fetched")
    if not host:
        raise InputError(f"invalid URL {shown!r}: no host")
    if port == 0:
        raise InputError(f"invalid URL {shown!r}: port 0")
    if any(c.isspace() or not c.isprintable() for c in location):
        raise InputError(f"invalid URL {shown!r}: spaces or control characters")
