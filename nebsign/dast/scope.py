"""The scope lock: the one check every DAST request passes before it is sent.

A :class:`Scope` names allowed origins (scheme, host, port), path prefixes,
excluded paths (e.g. ``/logout``) and allowed methods. Only loopback hosts
and hosts named with ``--scope`` may be origins: pointing nebsign at any
other host needs that explicit consent. Links, forms and redirects that fail
the check are recorded by the caller, never requested. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from nebsign.errors import InputError
from nebsign.policy.levels import matches

__all__ = ["DEFAULT_METHODS", "Origin", "Scope", "is_loopback_host", "parse_origin"]

DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_MAX_URL = 8192


@dataclass(frozen=True, slots=True)
class Origin:
    """scheme://host:port, lowercased, with the default port made explicit."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = {"http": 80, "https": 443}[self.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def parse_origin(url: str, what: str = "URL") -> Origin:
    """The origin of an absolute http(s) URL; :class:`InputError` for anything else."""
    if len(url) > _MAX_URL:
        raise InputError(f"{what}: longer than {_MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{what}: not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what}: an absolute http:// or https:// URL is needed")
    if parts.username or parts.password:
        raise InputError(f"{what}: credentials in the URL are refused (use --auth-file)")
    return Origin(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (no DNS lookup: names other than localhost are not)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Scope:
    """Allowed origins, path prefixes, excluded path globs and methods."""

    origins: tuple[Origin, ...]
    prefixes: tuple[str, ...] = ("/",)
    exclude: tuple[str, ...] = ()
    methods: tuple[str, ...] = DEFAULT_METHODS

    @classmethod
    def build(
        cls,
        target: str,
        *,
        extra: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        exclude: Sequence[str] = (),
        methods: Sequence[str] = (),
    ) -> Scope:
        """The scope of a scan of *target*; other hosts only when named in *extra*."""
        origin = parse_origin(target, "target")
        named = tuple(parse_origin(e, f"--scope {e[:80]!r}") for e in extra)
        if not is_loopback_host(origin.host) and origin not in named:
            raise InputError(
                f"target {origin} is not a loopback address",
                hint=f"name it with --scope {origin} to scan it (only hosts you are "
                "allowed to test)",
            )
        for p in prefixes:
            if not p.startswith("/"):
                raise InputError(f"--path-prefix {p[:80]!r}: must start with '/'")
        upper = tuple(m.upper() for m in methods) or DEFAULT_METHODS
        for m in upper:
            if m not in DEFAULT_METHODS:
                raise InputError(f"--method {m[:20]!r}: one of {', '.join(DEFAULT_METHODS)}")
        return cls(
            origins=tuple(dict.fromkeys((origin, *named))),
            prefixes=tuple(prefixes) or ("/",),
            exclude=tuple(exclude),
            methods=upper,
        )

    def why_not(self, method: str, url: str) -> str | None:
        """None if (method, url) is in scope, else the reason it is not."""
        if len(url) > _MAX_URL:
            return "URL too long"
        try:
            origin = parse_origin(url)
        except InputError:
            return "not an http(s) URL"
        if origin not in self.origins:
            return f"origin {origin} is outside the scope"
        path = urlsplit(url).path or "/"
        if not any(path.startswith(p) for p in self.prefixes):
            return f"path {path} is outside the allowed prefixes"
        if matches(path, self.exclude):
            return f"path {path} is excluded"
        if method.upper() not in self.methods:
            return f"method {method} is not allowed"
        return None

    def allows(self, method: str, url: str) -> bool:
        return self.why_not(method, url) is None
