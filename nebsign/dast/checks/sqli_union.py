"""SQL injection, UNION based: a UNION SELECT makes a value computed by the database appear.

Tried only where a quote or a dangling ``AND`` changes the page beyond echoing
the value. The marker is built by the database from two halves (``'ab'||'cd'`` or
``CONCAT('ab','cd')``), so an echo of the payload can never contain it.
"""

from __future__ import annotations

from nebsign.dast.checks._util import excerpt, inject, strip_reflections
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param, Response
from nebsign.findings import Severity

__all__ = ["SqliUnion"]

MAX_COLUMNS = 6


def _changed(base: Response, probe: Response, value: str, injected: str) -> bool:
    """Whether breaking the syntax changed the page beyond echoing the value back."""
    if probe.status != base.status:
        return True
    return strip_reflections(probe.text, (injected, value)) != strip_reflections(
        base.text, (value,)
    )


class SqliUnion(ActiveCheck):
    rule_id = "sqli-union"
    title = "SQL injection (UNION based)"
    severity = Severity.CRITICAL
    cwe = ("CWE-89",)
    recommendation = "Use parameterized queries; never build SQL from request values."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        base = await ctx.baseline(endpoint)
        _, quoted = await inject(ctx, endpoint, param, param.value + "'")
        _, numeric = await inject(ctx, endpoint, param, param.value + " AND")
        if base is None or quoted is None or numeric is None:
            return []
        prefixes = []
        if _changed(base, quoted, param.value, param.value + "'"):
            prefixes.append(("'", "-- "))
        if _changed(base, numeric, param.value, param.value + " AND"):
            prefixes.append(("", "-- "))
        for quote_char, comment in prefixes:
            a, b = token(), token()
            for concat in (f"'{a}'||'{b}'", f"CONCAT('{a}','{b}')"):
                for n in range(1, MAX_COLUMNS + 1):
                    cols = ",".join([concat] * n)
                    payload = f"{param.value}{quote_char} UNION SELECT {cols}{comment}"
                    spec, resp = await inject(ctx, endpoint, param, payload)
                    if resp is not None and a + b in resp.text:
                        return [
                            Hit(
                                request=spec,
                                response=resp,
                                parameter=param.name,
                                payload=payload,
                                proof=excerpt(resp.text, a + b),
                                message=f"{param.name!r}: a UNION SELECT of {n} column(s) "
                                "returns a value the database computed",
                                properties={"columns": n},
                            )
                        ]
        return []
