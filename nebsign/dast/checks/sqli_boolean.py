"""SQL injection, boolean based: a true condition keeps the page, a false one changes it.

Responses are compared after removing every echo of the injected values, and
only when the page is stable (two baseline fetches agree byte for byte). The
true condition must give exactly the baseline page and the false one a
different page, for two independent true/false pairs, in a SQL context
:func:`~nebsign.dast.checks._sql.sql_contexts` found.
"""

from __future__ import annotations

from nebsign.dast.checks._sql import sql_contexts
from nebsign.dast.checks._util import inject, strip_reflections
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["SqliBoolean", "boolean_differs"]

#: context -> (true, false) suffix pairs, two per quoting style
_STYLES = {
    "": (((" AND 1=1", " AND 1=2"), (" AND 7>3", " AND 3>7")),),
    "'": (
        (("' AND '1'='1", "' AND '1'='2"), ("' AND 'b'>'a", "' AND 'a'>'b")),
        (("' AND 1=1-- ", "' AND 1=2-- "), ("' AND 7>3-- ", "' AND 3>7-- ")),
    ),
    '"': ((('" AND "1"="1', '" AND "1"="2'), ('" AND "b">"a', '" AND "a">"b')),),
}


async def boolean_differs(
    ctx: CheckContext, endpoint: Endpoint, param: Param, true_v: str, false_v: str, base: str
) -> tuple[bool, str]:
    _, t = await inject(ctx, endpoint, param, true_v)
    _, f = await inject(ctx, endpoint, param, false_v)
    if t is None or f is None or t.status == 0 or f.status == 0:
        return False, ""
    values = (true_v, false_v, param.value)
    tb = strip_reflections(t.text, values)
    fb = strip_reflections(f.text, values)
    same_as_base = t.status < 500 and tb == base
    differs = t.status != f.status or tb != fb
    why = f"true: HTTP {t.status}, {len(tb)} bytes; false: HTTP {f.status}, {len(fb)} bytes"
    return same_as_base and differs, why


class SqliBoolean(ActiveCheck):
    rule_id = "sqli-boolean"
    title = "SQL injection (boolean based)"
    severity = Severity.CRITICAL
    cwe = ("CWE-89",)
    recommendation = "Use parameterized queries; never build SQL from request values."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        if not param.value:
            return []
        first = await ctx.baseline(endpoint)
        _, second = await ctx.cached(endpoint, param, param.value)
        if first is None or second is None or first.status != second.status:
            return []
        base = strip_reflections(first.text, (param.value,))
        if base != strip_reflections(second.text, (param.value,)):
            return []  # a page that changes by itself cannot be compared
        styles = [s for ctx_ in await sql_contexts(ctx, endpoint, param) for s in _STYLES[ctx_]]
        for pairs in styles:
            proofs = []
            for t, f in pairs:
                ok, why = await boolean_differs(
                    ctx, endpoint, param, param.value + t, param.value + f, base
                )
                if not ok:
                    break
                proofs.append(f"{t.strip()!r} vs {f.strip()!r}: {why}")
            else:
                t, f = pairs[0]
                spec = endpoint.request({param.name: param.value + f}, only=param)
                return [
                    Hit(
                        request=spec,
                        response=None,
                        parameter=param.name,
                        payload=param.value + f,
                        proof="; ".join(proofs),
                        message=f"{param.name!r}: appending a true condition keeps the page, "
                        "a false one changes it (two independent pairs)",
                    )
                ]
        return []
