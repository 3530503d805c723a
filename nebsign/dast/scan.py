"""One DAST scan: crawl (+ OpenAPI), passive checks on every response, active checks,
within the scope and budgets; the outcome is findings + coverage + anomalies.

The whole scan runs under one deadline (the time budget plus a grace for
requests in flight), so it never hangs. Whatever the budget cut off is listed
in ``not_covered``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from nebsign.dast.canary import CanaryListener
from nebsign.dast.checks import load_checks
from nebsign.dast.checks.interface import ActiveCheck, Hit
from nebsign.dast.crawl import crawl
from nebsign.dast.engine import BudgetExhausted, Engine, EngineLimits, OutOfScope
from nebsign.dast.evidence import finding_of_hit, finding_of_passive
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response, route_of
from nebsign.dast.passive import passive_hits
from nebsign.dast.scope import Scope
from nebsign.errors import EnvironmentFault
from nebsign.findings import Finding

__all__ = ["ScanConfig", "ScanOutcome", "run_scan"]

MAX_NOT_COVERED = 500
MAX_ANOMALIES = 200
_current_check: contextvars.ContextVar[str] = contextvars.ContextVar("check", default="crawl")


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """What to scan and how; ``auth_*`` are secrets: never in the digest or output."""

    target: str
    scope_extra: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    limits: EngineLimits = field(default_factory=EngineLimits)
    max_pages: int = 200
    checks: tuple[str, ...] | None = None
    openapi: bytes | None = None
    openapi_url: str | None = None
    browser: bool = False
    auth_headers: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    auth_cookies: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def public_dict(self) -> dict[str, Any]:
        """The configuration without secrets (its canonical JSON digest is the subject)."""
        from nebsign.digest import sha256_bytes

        lim = self.limits
        return {
            "target": self.target,
            "scope": list(self.scope_extra),
            "path_prefixes": list(self.prefixes),
            "exclude": list(self.exclude),
            "methods": list(self.methods),
            "limits": {
                "concurrency": lim.concurrency,
                "rate": lim.rate,
                "timeout": lim.timeout,
                "max_body": lim.max_body,
                "max_requests": lim.max_requests,
                "time_budget": lim.time_budget,
            },
            "max_pages": self.max_pages,
            "checks": list(self.checks) if self.checks is not None else "all",
            "openapi_sha256": sha256_bytes(self.openapi) if self.openapi is not None else None,
            "openapi_url": self.openapi_url,
            "browser": self.browser,
            "authenticated": bool(self.auth_headers or self.auth_cookies),
        }


@dataclass
class ScanOutcome:
    """What a scan did and found (judged by :class:`~nebsign.dast.policy.DastPolicy`)."""

    target: str
    origins: list[str]
    findings: list[Finding]
    anomalies: list[dict[str, Any]]
    requests: int
    endpoints: list[str]
    not_covered: list[str]
    not_covered_total: int
    left_scope: list[str]
    refused: int
    elapsed: float
    config: dict[str, Any]
    browser: dict[str, Any] | None = None

    def coverage(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "endpoints": len(self.endpoints),
            "not_covered": self.not_covered,
            "not_covered_total": self.not_covered_total,
        }


class _Context:
    def __init__(self, engine: Engine, canary: CanaryListener) -> None:
        self.engine = engine
        self.canary = canary
        self.endpoints: list[Endpoint] = []
        self.pages: list[Response] = []
        self.passive: dict[tuple[str, str], Finding] = {}
        self.anomalies: dict[tuple[str, str, str, int], dict[str, Any]] = {}
        self._memo: dict[object, asyncio.Future[Response | None]] = {}

    async def observe(self, resp: Response) -> None:
        for hit in passive_hits(resp):
            self.passive.setdefault((hit.rule.rule_id, hit.key), finding_of_passive(hit))

    async def send(self, spec: RequestSpec, *, timeout: float | None = None) -> Response | None:
        try:
            resp = await self.engine.send(spec, timeout=timeout)
        except OutOfScope:
            return None
        await self.observe(resp)
        check = _current_check.get()
        if resp.status >= 500 and check != "crawl":
            key = (check, spec.method, route_of(spec.url), resp.status)
            if key not in self.anomalies and len(self.anomalies) < MAX_ANOMALIES:
                self.anomalies[key] = {
                    "check": check,
                    "method": spec.method,
                    "url": spec.url,
                    "status": resp.status,
                    "example": spec.full_url()[:500],
                }
        return resp

    async def _once(self, key: object, spec: RequestSpec) -> Response | None:
        """Send *spec* once per *key*; later callers share the response."""
        if key not in self._memo:
            fut: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
            self._memo[key] = fut
            try:
                fut.set_result(await self.send(spec))
            except BaseException as exc:
                del self._memo[key]
                fut.set_exception(exc)
                fut.exception()  # retrieved here: a waiter, if any, gets it too
                raise
        return await asyncio.shield(self._memo[key])

    async def baseline(self, endpoint: Endpoint) -> Response | None:
        return await self._once(("baseline", endpoint.key), endpoint.request())

    async def cached(
        self, endpoint: Endpoint, param: Param, value: str
    ) -> tuple[RequestSpec, Response | None]:
        spec = endpoint.request({param.name: value}, only=param)
        key = ("probe", endpoint.key, param.kind, param.name, value)
        return spec, await self._once(key, spec)

    def canary_url(self, marker: str) -> str | None:
        return self.canary.url(marker)

    async def canary_hit(self, marker: str, wait: float) -> bool:
        return await self.canary.seen(marker, wait)


Job = tuple[ActiveCheck, str, Callable[[], Awaitable[list[Hit]]]]


def _jobs(checks: list[ActiveCheck], ctx: _Context) -> tuple[list[Job], list[Job]]:
    per_target: list[Job] = []
    site: list[Job] = []
    for check in checks:
        for ep in ctx.endpoints:
            label = f"{ep.method} {route_of(ep.url)}"
            if check.overrides("check_endpoint"):
                per_target.append((check, label, partial(check.check_endpoint, ctx, ep)))
            if check.overrides("check_param"):
                per_target.extend(
                    (check, f"{label} [{p.name}]", partial(check.check_param, ctx, ep, p))
                    for p in ep.params
                )
        if check.overrides("check_site"):
            site.append((check, "site", partial(check.check_site, ctx)))
    return per_target, site


async def _run_jobs(
    jobs: list[Job], ctx: _Context, parallel: int, not_covered: list[str]
) -> list[tuple[ActiveCheck, Hit]]:
    gate = asyncio.Semaphore(parallel)
    out: list[tuple[ActiveCheck, Hit]] = []

    async def one(check: ActiveCheck, label: str, job: Callable[[], Awaitable[list[Hit]]]) -> None:
        async with gate:
            if ctx.engine.exhausted():
                not_covered.append(f"{check.rule_id} {label}")
                return
            _current_check.set(check.rule_id)
            try:
                out.extend((check, h) for h in await job())
            except BudgetExhausted:
                not_covered.append(f"{check.rule_id} {label}")

    await asyncio.gather(*(one(*j) for j in jobs))
    return out


def _merge(endpoints: list[Endpoint]) -> list[Endpoint]:
    seen: dict[object, Endpoint] = {}
    for ep in endpoints:
        seen.setdefault(ep.key, ep)
    return list(seen.values())


async def _scan(config: ScanConfig, on_request: Callable[[], None] | None) -> ScanOutcome:
    from nebsign.dast.openapi import endpoints_from_openapi, load_openapi

    scope = Scope.build(
        config.target,
        extra=config.scope_extra,
        prefixes=config.prefixes,
        exclude=config.exclude,
        methods=config.methods,
    )
    checks = load_checks(config.checks)
    not_covered: list[str] = []
    async with (
        Engine(
            scope,
            config.limits,
            auth_headers=config.auth_headers,
            auth_cookies=config.auth_cookies,
            on_request=on_request,
        ) as engine,
        CanaryListener() as canary,
    ):
        ctx = _Context(engine, canary)
        api: list[Endpoint] = []
        raw = config.openapi
        if config.openapi_url is not None:
            resp = await ctx.send(RequestSpec("GET", config.openapi_url))
            if resp is None or resp.status != 200:
                from nebsign.dast.openapi import OpenApiError

                raise OpenApiError(f"OpenAPI URL {config.openapi_url[:200]} could not be fetched")
            raw = resp.body
        if raw is not None:
            api = endpoints_from_openapi(load_openapi(raw), config.target)
        start = [config.target] + [e.url for e in api if e.method == "GET" and not e.params]
        result = await crawl(engine, start, max_pages=config.max_pages, on_response=ctx.observe)
        not_covered.extend(f"crawl {u}" for u in result.not_crawled)
        ctx.pages = result.pages
        ctx.endpoints = _merge([e for e in api if scope.allows(e.method, e.url)] + result.endpoints)
        per_target, site = _jobs(checks, ctx)
        parallel = max(2, config.limits.concurrency * 2)
        hits = await _run_jobs(per_target, ctx, parallel, not_covered)
        hits += await _run_jobs(site, ctx, parallel, not_covered)
        browser_info = None
        if config.browser:
            from nebsign.dast.browser import confirm_xss

            hits, browser_info = await confirm_xss(hits, scope)
        findings: dict[str, Finding] = {}
        for check, hit in hits:
            f = finding_of_hit(check, hit)
            findings.setdefault(f.fingerprint, f)
        for f in ctx.passive.values():
            findings.setdefault(f.fingerprint, f)
        return ScanOutcome(
            target=config.target,
            origins=[str(o) for o in scope.origins],
            findings=sorted(findings.values(), key=Finding.sort_key),
            anomalies=sorted(ctx.anomalies.values(), key=lambda a: (a["url"], a["check"])),
            requests=engine.stats.sent,
            endpoints=sorted({f"{e.method} {route_of(e.url)}" for e in ctx.endpoints}),
            not_covered=sorted(not_covered)[:MAX_NOT_COVERED],
            not_covered_total=len(not_covered),
            left_scope=sorted(result.left_scope),
            refused=engine.stats.refused,
            elapsed=engine.elapsed,
            config=config.public_dict(),
            browser=browser_info,
        )


def run_scan(config: ScanConfig, on_request: Callable[[], None] | None = None) -> ScanOutcome:
    """Run one scan to completion (or to its budget); blocking."""
    grace = config.limits.timeout + 15.0
    if config.browser:
        grace += 60.0

    async def bounded() -> ScanOutcome:
        return await asyncio.wait_for(_scan(config, on_request), config.limits.time_budget + grace)

    try:
        return asyncio.run(bounded())
    except TimeoutError as exc:
        raise EnvironmentFault(
            f"the scan did not stop within its time budget plus {grace:g} s of grace"
        ) from exc
