"""SSRF: the server fetches a URL the request names (proved by nebsign's own loopback canary)."""

from __future__ import annotations

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.checks.redirect import urlish
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["Ssrf"]


class Ssrf(ActiveCheck):
    rule_id = "ssrf"
    title = "Server-side request forgery"
    severity = Severity.HIGH
    cwe = ("CWE-918",)
    recommendation = "Fetch only allow-listed hosts; never let a request choose the URL fetched."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        if not urlish(param):
            return []
        marker = token()
        url = ctx.canary_url(marker)
        if url is None:
            return []
        spec, resp = await inject(ctx, endpoint, param, url)
        if resp is None or not await ctx.canary_hit(marker, wait=2.0):
            return []
        return [
            Hit(
                request=spec,
                response=resp,
                parameter=param.name,
                payload=url,
                proof=f"nebsign's canary listener received a request for {marker}",
                message=f"{param.name!r}: the server fetched the URL given in the request",
            )
        ]
