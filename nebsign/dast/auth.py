"""Credentials of a DAST scan: an auth file, ``$NEBSIGN_DAST_TOKEN``, never the command line.

The auth file has one ``Name: value`` header a line (``#`` comments, blank lines)
and ``Cookie: a=b; c=d`` lines; it is untrusted input (size limit, UTF-8, one
line's error names its number). Extra headers given as flags are refused when
they are secrets (``Authorization``, ``Cookie``, ...): argv is visible to every
user of the host.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError

__all__ = ["MAX_AUTH_BYTES", "TOKEN_ENV", "extra_headers", "request_auth"]

TOKEN_ENV = "NEBSIGN_DAST_TOKEN"  # noqa: S105 - the name of a variable, not a secret
MAX_AUTH_BYTES = 64 * 1024
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def request_auth(auth_file: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies from *auth_file* and ``$NEBSIGN_DAST_TOKEN`` (a bearer token)."""
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if auth_file is not None:
        raw = read_bounded(auth_file, MAX_AUTH_BYTES, "auth file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"auth file {auth_file}: not UTF-8 text") from exc
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip() or any(c in name for c in " \t"):
                raise InputError(f"auth file {auth_file}: line {n}: expected 'Header: value'")
            if name.strip().lower() == "cookie":
                for part in value.split(";"):
                    k, eq, v = part.strip().partition("=")
                    if not eq or not k:
                        raise InputError(f"auth file {auth_file}: line {n}: bad cookie")
                    cookies[k] = v
            else:
                headers[name.strip()] = value.strip()
    token = os.environ.get(TOKEN_ENV)
    if token:
        headers["Authorization"] = f"Bearer {token.strip()}"
    return headers, cookies


def extra_headers(values: Iterable[str]) -> dict[str, str]:
    """``--header 'Name: value'`` flags as headers; a secret header is refused."""
    out = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--header {item[:60]!r}: expected 'Name: value'")
        if name.strip().lower() in _SECRET_HEADERS:
            raise InputError(
                f"--header {name.strip()}: secrets are not accepted on the command line",
                hint=f"put it in --auth-file or ${TOKEN_ENV}",
            )
        out[name.strip()] = value.strip()
    return out
