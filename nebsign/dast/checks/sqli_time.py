"""SQL injection, time based: the database sleeps when told to (see nebsign.dast.timing)."""

from __future__ import annotations

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response
from nebsign.dast.timing import confirm_delay
from nebsign.findings import Severity

__all__ = ["SqliTime"]

#: payload templates; {v} the offered value, {d} the delay in seconds
_TEMPLATES = (
    "{v} AND sleep({d})=0",
    "{v}' AND sleep({d})=0 AND '1'='1",
    '{v}" AND sleep({d})=0 AND "1"="1',
    "{v}' AND (SELECT 1 FROM (SELECT sleep({d}))x)-- ",
    "{v}';SELECT pg_sleep({d})-- ",
    "{v}';WAITFOR DELAY '0:0:{d}'-- ",
)
DELAY = 1.0


class SqliTime(ActiveCheck):
    rule_id = "sqli-time"
    title = "SQL injection (time based, blind)"
    severity = Severity.CRITICAL
    cwe = ("CWE-89",)
    recommendation = "Use parameterized queries; never build SQL from request values."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        for template in _TEMPLATES:

            async def send(d: float, t: str = template) -> tuple[RequestSpec, Response | None]:
                value = t.format(v=param.value, d=f"{d:g}")
                return await inject(ctx, endpoint, param, value, timeout=4 * DELAY + 10)

            proof = await confirm_delay(send, delay=DELAY)
            if proof is not None:
                payload = template.format(v=param.value, d=f"{DELAY:g}")
                return [
                    Hit(
                        request=proof.request,
                        response=proof.response,
                        parameter=param.name,
                        payload=payload,
                        proof=proof.summary(),
                        message=f"{param.name!r}: the database sleeps as the payload asks, "
                        "round after round, while zero-delay controls do not",
                        properties={"timing": proof.summary()},
                    )
                ]
        return []
