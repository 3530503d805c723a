"""CORS: any Origin is reflected with credentials allowed."""

from __future__ import annotations

from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import RequestSpec
from nebsign.findings import Severity

__all__ = ["CorsReflection"]

ORIGIN = "https://nebsign-cors.invalid"
MAX_PROBES = 30


class CorsReflection(ActiveCheck):
    rule_id = "cors-reflected-origin"
    title = "CORS reflects any origin with credentials"
    severity = Severity.HIGH
    cwe = ("CWE-942",)
    recommendation = "Allow only a fixed list of origins; never echo Origin with credentials."

    async def check_site(self, ctx: CheckContext) -> list[Hit]:
        seen: set[str] = set()
        for ep in ctx.endpoints:
            if ep.method != "GET" or ep.url in seen or len(seen) >= MAX_PROBES:
                continue
            seen.add(ep.url)
            base = ep.request()
            spec = RequestSpec("GET", base.url, base.query, headers=(("Origin", ORIGIN),))
            resp = await ctx.send(spec)
            if resp is None:
                continue
            allow = resp.header("access-control-allow-origin") or ""
            creds = (resp.header("access-control-allow-credentials") or "").lower() == "true"
            if allow.strip() == ORIGIN and creds:
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=None,
                        payload=f"Origin: {ORIGIN}",
                        proof=f"Access-Control-Allow-Origin: {allow}; "
                        "Access-Control-Allow-Credentials: true",
                        message="the server echoes any Origin and allows credentials",
                    )
                ]
        return []
