"""Async HTTP for the scan: httpx with bounded concurrency, a rate limit, budgets.

Every request goes through :meth:`Engine.send`, which asks the
:class:`~nebsign.dast.scope.Scope` first (a refusal raises
:class:`OutOfScope`; nothing is sent), then waits for a concurrency slot and
the rate limiter, then checks the request and time budgets (either running out
raises :class:`BudgetExhausted`). Responses are read up to ``max_body``
bytes; the rest is dropped. Redirects are never followed here: the crawler
sees the ``Location`` and asks the scope itself. No cookie is kept between
requests (each check controls exactly what it sends); the caller's
authentication headers and cookies are added to every request and never
recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebsign.dast.model import RequestSpec, Response
from nebsign.dast.scope import Scope

if TYPE_CHECKING:
    import httpx

__all__ = ["BudgetExhausted", "Engine", "EngineLimits", "OutOfScope"]


class OutOfScope(Exception):
    """The scope refused a request (it was not sent)."""


class BudgetExhausted(Exception):
    """The request count or the time budget ran out."""


@dataclass(frozen=True, slots=True)
class EngineLimits:
    """Concurrency, rate and budgets; defaults are safe for a staging service."""

    concurrency: int = 8
    rate: float = 100.0
    timeout: float = 10.0
    max_body: int = 2 * 1024 * 1024
    max_requests: int = 5000
    time_budget: float = 300.0


@dataclass
class EngineStats:
    sent: int = 0
    refused: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


class Engine:
    """Send scope-checked requests within the limits; use as ``async with``."""

    def __init__(
        self,
        scope: Scope,
        limits: EngineLimits,
        *,
        auth_headers: Mapping[str, str] | None = None,
        auth_cookies: Mapping[str, str] | None = None,
        on_request: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = scope
        self.limits = limits
        self.auth_headers = dict(auth_headers or {})
        self.auth_cookies = dict(auth_cookies or {})
        self.stats = EngineStats()
        self._clock = clock
        self._start = clock()
        self._deadline = self._start + limits.time_budget
        self._slots = asyncio.Semaphore(max(1, limits.concurrency))
        self._rate_lock = asyncio.Lock()
        self._next_slot = 0.0
        self._on_request = on_request
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Engine:
        import http.cookiejar

        import httpx

        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self.limits.timeout,
            limits=httpx.Limits(
                max_connections=max(1, self.limits.concurrency),
                max_keepalive_connections=max(1, self.limits.concurrency),
            ),
            headers={"User-Agent": "nebsign-dast"},
        )
        # the client copies any jar it is given into a default one: set the policy on its own
        self._client.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def remaining_time(self) -> float:
        return self._deadline - self._clock()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def exhausted(self) -> bool:
        return self.stats.sent >= self.limits.max_requests or self.remaining_time <= 0

    def _budget(self) -> None:
        if self.stats.sent >= self.limits.max_requests:
            raise BudgetExhausted(f"request budget of {self.limits.max_requests} used up")
        if self.remaining_time <= 0:
            raise BudgetExhausted(f"time budget of {self.limits.time_budget:g} s used up")

    async def _pace(self) -> None:
        if self.limits.rate <= 0:
            return
        async with self._rate_lock:
            now = self._clock()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + 1.0 / self.limits.rate
        if wait > 0:
            await asyncio.sleep(min(wait, max(self.remaining_time, 0)))

    async def send(self, spec: RequestSpec, *, timeout: float | None = None) -> Response:
        """Send *spec*; :class:`OutOfScope` / :class:`BudgetExhausted` before sending."""
        reason = self.scope.why_not(spec.method, spec.url)
        if reason is not None:
            self.stats.refused += 1
            raise OutOfScope(reason)
        self._budget()
        async with self._slots:
            await self._pace()
            self._budget()
            self.stats.sent += 1
            if self._on_request is not None:
                self._on_request()
            return await self._send(spec, timeout)

    async def _send(self, spec: RequestSpec, timeout: float | None) -> Response:
        import httpx

        assert self._client is not None, "use the engine as 'async with'"
        headers = {} if spec.no_auth else dict(self.auth_headers)
        headers.update(dict(spec.headers))
        cookies = {**({} if spec.no_auth else self.auth_cookies), **dict(spec.cookies)}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        kwargs: dict[str, Any] = {"headers": headers}
        if spec.query:
            kwargs["params"] = list(spec.query)
        if spec.body is not None:
            kwargs["content"] = spec.body
        elif spec.json_body is not None:
            kwargs["json"] = spec.json_body
        elif spec.form is not None:
            kwargs["data"] = dict(spec.form)
        per_request = min(timeout or self.limits.timeout, max(self.remaining_time, 0.05))
        kwargs["timeout"] = per_request
        started = self._clock()
        try:
            async with self._client.stream(spec.method, spec.url, **kwargs) as resp:
                body, truncated = await self._read(resp)
                elapsed = self._clock() - started
                self.stats.statuses[resp.status_code] += 1
                return Response(
                    method=spec.method,
                    url=str(resp.request.url),
                    status=resp.status_code,
                    headers=tuple((k, v) for k, v in resp.headers.multi_items()),
                    body=body,
                    truncated=truncated,
                    elapsed=elapsed,
                )
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
            self.stats.errors += 1
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
            return Response(
                method=spec.method,
                url=spec.full_url(),
                status=0,
                elapsed=self._clock() - started,
                error=kind,
            )

    async def _read(self, resp: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        limit = self.limits.max_body
        async for chunk in resp.aiter_bytes():
            room = limit - size
            if len(chunk) > room:
                chunks.append(chunk[:room])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False
