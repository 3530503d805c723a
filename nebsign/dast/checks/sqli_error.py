"""SQL injection, error based: a quote makes the database's error text appear."""

from __future__ import annotations

from nebsign.dast.checks._util import SQL_ERRORS, signature_probe
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
        payloads = (param.value + suffix for suffix in _PAYLOADS)
        found = await signature_probe(ctx, endpoint, param, payloads, SQL_ERRORS, shared=True)
        if found is None:
            return []
        error = found.match.group(0)
        return found.hit(
            param,
            f"appending {found.payload.removeprefix(param.value)!r} to "
            f"{param.name!r} makes the response show a database error ({error[:60]!r})",
        )
