"""The one interface of active checks, and what they report.

A check is a class with a ``rule_id``, metadata for its findings, and one or
more of three hooks: :meth:`ActiveCheck.check_param` (one parameter of one
endpoint), :meth:`ActiveCheck.check_endpoint` (one endpoint) and
:meth:`ActiveCheck.check_site` (once per scan, after the others). Each
returns :class:`Hit` values; the scan turns hits into findings. Checks send
requests only through :class:`CheckContext` (so through the scope lock and the
budgets) and use non-destructive payloads only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from nebsign.dast.model import Endpoint, Param, RequestSpec, Response
from nebsign.findings import Confidence, Severity

__all__ = ["ActiveCheck", "CheckContext", "Hit", "token"]


def token() -> str:
    """A fresh random marker: lowercase letters and digits, starting with a letter."""
    return "n" + secrets.token_hex(5)


@dataclass(frozen=True, slots=True)
class Hit:
    """One proven weakness: what was sent, what came back, the excerpt that proves it."""

    request: RequestSpec
    response: Response | None
    parameter: str | None
    payload: str
    proof: str
    message: str
    confidence: Confidence = Confidence.HIGH
    properties: Mapping[str, Any] = field(default_factory=dict)


class CheckContext(Protocol):
    """What a check may use: scope-checked sending, baselines, the SSRF canary."""

    endpoints: list[Endpoint]
    pages: list[Response]

    async def send(self, spec: RequestSpec, *, timeout: float | None = None) -> Response | None:
        """Send a probe; None if the scope or the budget refused it."""
        ...

    async def baseline(self, endpoint: Endpoint) -> Response | None:
        """The endpoint's response with its offered values (sent once per scan)."""
        ...

    async def cached(
        self, endpoint: Endpoint, param: Param, value: str
    ) -> tuple[RequestSpec, Response | None]:
        """Like :func:`inject`, but sent once per scan: checks share these probes."""
        ...

    def canary_url(self, marker: str) -> str | None:
        """A URL on nebsign's own loopback listener that records hits for *marker*."""
        ...

    async def canary_hit(self, marker: str, wait: float) -> bool:
        """Whether the canary listener saw *marker* within *wait* seconds."""
        ...


class ActiveCheck:
    """Base class: override one or more hooks; set the class attributes."""

    rule_id: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[Severity] = Severity.HIGH
    cwe: ClassVar[tuple[str, ...]] = ()
    recommendation: ClassVar[str] = ""
    #: findings are browser-confirmable XSS candidates
    xss: ClassVar[bool] = False

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        return []

    async def check_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> list[Hit]:
        return []

    async def check_site(self, ctx: CheckContext) -> list[Hit]:
        return []

    @classmethod
    def overrides(cls, hook: str) -> bool:
        return getattr(cls, hook) is not getattr(ActiveCheck, hook)
