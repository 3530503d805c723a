"""Discovery by crawling: links, forms (GET and POST, hidden fields kept), query
parameters, cookies and redirects, breadth first, within the scope and budgets.

Links and redirects that leave the scope are recorded in ``left_scope`` and
never requested. Pages are de-duplicated by method + route (ids collapsed) +
parameter names, so a site that links forever ends at ``max_pages`` or the
budget, whichever comes first, and what was left is reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urldefrag, urlsplit, urlunsplit

from nebsign.dast.engine import BudgetExhausted, Engine, OutOfScope
from nebsign.dast.html import Form, parse_html
from nebsign.dast.model import (
    Endpoint,
    Param,
    ParamKind,
    RequestSpec,
    Response,
    join_url,
    route_of,
)

__all__ = ["CrawlResult", "crawl", "endpoint_of_url", "split_url"]

MAX_LEFT_SCOPE = 200


@dataclass
class CrawlResult:
    endpoints: list[Endpoint] = field(default_factory=list)
    pages: list[Response] = field(default_factory=list)
    left_scope: set[str] = field(default_factory=set)
    not_crawled: list[str] = field(default_factory=list)


def split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    """(URL without query and fragment, query pairs)."""
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    return base, parse_qsl(parts.query, keep_blank_values=True)


def endpoint_of_url(url: str, source: str = "link") -> Endpoint:
    base, pairs = split_url(url)
    seen: dict[str, str] = {}
    for k, v in pairs:
        seen.setdefault(k, v)
    return Endpoint("GET", base, tuple(Param(k, v) for k, v in seen.items()), source=source)


def _form_endpoints(page_url: str, info_forms: list[Form]) -> list[Endpoint]:
    out: list[Endpoint] = []
    for form in info_forms:
        action = join_url(page_url, form.action or page_url)
        if action is None:
            continue
        base, pairs = split_url(action)
        method = form.method if form.method in ("GET", "POST") else "GET"
        kind = ParamKind.QUERY if method == "GET" else ParamKind.FORM
        params: dict[str, Param] = {}
        if method == "POST":
            for k, v in pairs:
                params.setdefault(k, Param(k, v, ParamKind.QUERY))
        for f in form.fields:
            params.setdefault(f.name, Param(f.name, f.value, kind, f.type))
        out.append(
            Endpoint(
                method,
                base,
                tuple(params.values()),
                source="form",
                extra={"page": page_url, "form": True},
            )
        )
    return out


def _cookies(resp: Response) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for raw in resp.header_all("set-cookie"):
        try:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
        except CookieError:
            continue
        out.extend((name, morsel.value) for name, morsel in jar.items())
    return out


async def crawl(
    engine: Engine,
    start: list[str],
    *,
    max_pages: int = 200,
    on_response: Callable[[Response], Awaitable[None]] | None = None,
) -> CrawlResult:
    """Breadth-first crawl from *start*; stops at *max_pages* or the budget."""
    result = CrawlResult()
    seen_pages: set[tuple[object, ...]] = set()
    endpoints: dict[tuple[object, ...], Endpoint] = {}
    queue: list[str] = []

    def enqueue(link: str | None) -> None:
        if link is None:
            return
        url = urldefrag(link)[0]
        why = engine.scope.why_not("GET", url)
        if why is not None:
            if len(result.left_scope) < MAX_LEFT_SCOPE:
                result.left_scope.add(url[:500])
            return
        ep = endpoint_of_url(url)
        if ep.key in seen_pages:
            return
        seen_pages.add(ep.key)
        queue.append(url)

    for url in start:
        enqueue(url)
    fetched = 0
    while queue:
        batch = queue[: max(1, min(engine.limits.concurrency, max_pages - fetched))]
        del queue[: len(batch)]
        if fetched >= max_pages or engine.exhausted():
            result.not_crawled.extend(batch)
            continue
        fetched += len(batch)
        responses = await asyncio.gather(*(_fetch(engine, u) for u in batch))
        for url, resp in zip(batch, responses, strict=True):
            if resp is None:
                result.not_crawled.append(url)
                continue
            if resp.status == 0:
                continue
            result.pages.append(resp)
            if on_response is not None:
                await on_response(resp)
            ep = endpoint_of_url(url)
            endpoints.setdefault(ep.key, ep)
            for name, value in _cookies(resp):
                cep = Endpoint(
                    "GET", ep.url, (Param(name, value, ParamKind.COOKIE),), source="cookie"
                )
                endpoints.setdefault(cep.key, cep)
            location = resp.header("location")
            if 300 <= resp.status < 400 and location:
                enqueue(join_url(url, location.strip()))
            if resp.is_html:
                info = parse_html(resp.text)
                for link in info.links:
                    if link.lower().startswith(("javascript:", "mailto:", "data:", "tel:")):
                        continue
                    enqueue(join_url(url, link))
                for fep in _form_endpoints(url, info.forms):
                    if engine.scope.allows(fep.method, fep.url):
                        endpoints.setdefault(fep.key, fep)
                    elif len(result.left_scope) < MAX_LEFT_SCOPE:
                        result.left_scope.add(f"{fep.method} {fep.url[:500]}")
    result.endpoints = sorted(endpoints.values(), key=lambda e: (route_of(e.url), e.method, e.key))
    return result


async def _fetch(engine: Engine, url: str) -> Response | None:
    base, pairs = split_url(url)
    try:
        return await engine.send(RequestSpec("GET", base, tuple(pairs)))
    except (OutOfScope, BudgetExhausted):
        return None
