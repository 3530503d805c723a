"""SQL injection, UNION based: a UNION SELECT makes a value computed by the database appear.

Tried only in the SQL contexts :func:`~nebsign.dast.checks._sql.sql_contexts`
finds. The marker is built by the database from two halves (``'ab'||'cd'`` or
``CONCAT('ab','cd')``), so an echo of the payload can never contain it.
"""

from __future__ import annotations

from nebsign.dast.checks._sql import sql_contexts
from nebsign.dast.checks._util import excerpt, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["SqliUnion"]

MAX_COLUMNS = 6


class SqliUnion(ActiveCheck):
    rule_id = "sqli-union"
    title = "SQL injection (UNION based)"
    severity = Severity.CRITICAL
    cwe = ("CWE-89",)
    recommendation = "Use parameterized queries; never build SQL from request values."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        for quote in await sql_contexts(ctx, endpoint, param):
            a, b = token(), token()
            for concat in (f"'{a}'||'{b}'", f"CONCAT('{a}','{b}')"):
                for n in range(1, MAX_COLUMNS + 1):
                    cols = ",".join([concat] * n)
                    payload = f"{param.value}{quote} UNION SELECT {cols}-- "
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
