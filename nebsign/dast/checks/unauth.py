"""Unauthenticated access: an endpoint the API spec protects answers without credentials."""

from __future__ import annotations

from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, RequestSpec
from nebsign.findings import Severity

__all__ = ["UnauthenticatedAccess"]


class UnauthenticatedAccess(ActiveCheck):
    rule_id = "unauthenticated-access"
    title = "Authenticated endpoint open without credentials"
    severity = Severity.HIGH
    cwe = ("CWE-306",)
    recommendation = "Enforce the authentication the API declares on every operation."

    async def check_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> list[Hit]:
        if not endpoint.requires_auth or endpoint.method not in ("GET", "HEAD"):
            return []
        base = endpoint.request()
        spec = RequestSpec(base.method, base.url, base.query, no_auth=True)
        resp = await ctx.send(spec)
        if resp is None or not 200 <= resp.status < 300:
            return []
        return [
            Hit(
                request=spec,
                response=resp,
                parameter=None,
                payload="(no credentials)",
                proof=f"HTTP {resp.status} without credentials; {resp.text[:120]}",
                message="the API spec requires authentication here, but the endpoint answers "
                "without any",
            )
        ]
