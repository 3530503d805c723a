"""Server-side template injection: a template expression comes back evaluated."""

from __future__ import annotations

import secrets

from nebsign.dast.checks._util import excerpt, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["TemplateInjection"]

_SYNTAXES = ("{{%s}}", "${%s}", "<%%= %s %%>", "#{%s}", "{%s}", "*{%s}", "{{=%s}}")


class TemplateInjection(ActiveCheck):
    rule_id = "ssti"
    title = "Server-side template injection"
    severity = Severity.CRITICAL
    cwe = ("CWE-1336", "CWE-94")
    recommendation = "Never build templates from request values; pass values as template data."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        a, b = 1000 + secrets.randbelow(9000), 1000 + secrets.randbelow(9000)
        product = str(a * b)
        base = await ctx.baseline(endpoint)
        if base is not None and product in base.text:
            return []
        for syntax in _SYNTAXES:
            payload = param.value + (syntax % f"{a}*{b}")
            spec, resp = await inject(ctx, endpoint, param, payload)
            if resp is not None and product in resp.text:
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=excerpt(resp.text, product),
                        message=f"{param.name!r}: the template engine evaluated {a}*{b}",
                        properties={"syntax": syntax.replace("%s", "…")},
                    )
                ]
        return []
