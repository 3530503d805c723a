"""Values the DAST modules pass around: requests, responses, endpoints, parameters."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

__all__ = ["Endpoint", "Param", "ParamKind", "RequestSpec", "Response", "join_url", "route_of"]


class ParamKind(enum.Enum):
    """Where a parameter travels."""

    QUERY = "query"
    FORM = "form"
    JSON = "json"
    COOKIE = "cookie"
    HEADER = "header"


@dataclass(frozen=True, slots=True)
class Param:
    """One input of an endpoint, with the value the application offered (if any)."""

    name: str
    value: str = ""
    kind: ParamKind = ParamKind.QUERY
    field_type: str = "text"


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything needed to send (and to reproduce with curl) one request."""

    method: str
    url: str
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] | None = None
    json_body: Any = None
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    #: send without the scan's authentication headers and cookies
    no_auth: bool = False

    def full_url(self) -> str:
        if not self.query:
            return self.url
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}{urlencode(self.query)}"


@dataclass(frozen=True, slots=True)
class Response:
    """A response read up to the engine's size limit; status 0 if none arrived."""

    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    error: str = ""

    def header(self, name: str) -> str | None:
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml") or (
            not self.content_type and self.body.lstrip()[:15].lower().startswith(b"<!doctype html")
        )

    @property
    def text(self) -> str:
        match = re.search(r"charset=([\w-]+)", self.header("content-type") or "")
        encoding = match.group(1) if match else "utf-8"
        try:
            return self.body.decode(encoding, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{24,})$"
)


def join_url(base: str, link: str) -> str | None:
    """*link* resolved against *base*, fragment dropped; None if either is not a valid URL."""
    try:
        joined = urldefrag(urljoin(base, link))[0]
        urlsplit(joined).port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return joined


def route_of(url: str) -> str:
    """The URL path with ids (numbers, UUIDs, long hex) as ``{id}``: the fingerprint's route."""
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        path = "/"
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A method + URL (no query) and its parameters, found by crawling or OpenAPI."""

    method: str
    url: str
    params: tuple[Param, ...] = ()
    source: str = "link"
    body_type: str = "form"
    requires_auth: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return (
            self.method,
            route_of(self.url),
            tuple(sorted((p.kind.value, p.name) for p in self.params)),
        )

    def request(
        self, values: Mapping[str, str] | None = None, *, only: Param | None = None
    ) -> RequestSpec:
        """A request with every parameter at its offered value, some replaced by *values*.

        *only* replaces the value of that one parameter (by identity of name and kind).
        """
        values = values or {}
        query: list[tuple[str, str]] = []
        form: list[tuple[str, str]] = []
        json_body: dict[str, Any] = {}
        cookies: list[tuple[str, str]] = []
        headers: list[tuple[str, str]] = []
        for p in self.params:
            value = values.get(p.name, p.value) if only is None or p == only else p.value
            if p.kind is ParamKind.QUERY:
                query.append((p.name, value))
            elif p.kind is ParamKind.FORM:
                form.append((p.name, value))
            elif p.kind is ParamKind.JSON:
                json_body[p.name] = value
            elif p.kind is ParamKind.COOKIE:
                cookies.append((p.name, value))
            else:
                headers.append((p.name, value))
        has_body = self.method not in ("GET", "HEAD", "DELETE")
        return RequestSpec(
            method=self.method,
            url=self.url,
            query=tuple(query),
            form=tuple(form) if form or (has_body and self.body_type == "form") else None,
            json_body=json_body if json_body or (self.body_type == "json" and has_body) else None,
            headers=tuple(headers),
            cookies=tuple(cookies),
        )

    def with_params(self, params: tuple[Param, ...]) -> Endpoint:
        return replace(self, params=params)
