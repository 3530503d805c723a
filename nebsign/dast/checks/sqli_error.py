"""SQL injection, error based: a quote makes the database's error text appear."""

from __future__ import annotations

from nebsign.dast.checks._util import SQL_ERRORS, excerpt
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["SqliError"]

_PAYLOADS = ("'", '"', "')", "1'\"", "\\")


class SqliError(ActiveCheck):
    rule_id = "sqli-error"
    title = "SQL injection (error based)"
    severity = Severity.CRITICAL
    cwe = ("CWE-89",)
    recommendation = "Use parameterized queries; never build SQL from request values."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        base = await ctx.baseline(endpoint)
        if base is not None and SQL_ERRORS.search(base.text):
            return []
        for suffix in _PAYLOADS:
            payload = param.value + suffix
            spec, resp = await ctx.cached(endpoint, param, payload)
            if resp is None:
                continue
            m = SQL_ERRORS.search(resp.text)
            if m is None:
                continue
            return [
                Hit(
                    request=spec,
                    response=resp,
                    parameter=param.name,
                    payload=payload,
                    proof=excerpt(resp.text, m.group(0)),
                    message=f"appending {suffix!r} to {param.name!r} makes the response show "
                    f"a database error ({m.group(0)[:60]!r})",
                )
            ]
        return []
