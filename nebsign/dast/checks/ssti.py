"""Server-side template injection: a template expression comes back evaluated.

One polyglot of the common syntaxes first (``{{}}``, ``${}``, ``<%= %>``,
``#{}``); each syntax alone only if the polyglot made the server fail."""

from __future__ import annotations

import secrets

from nebsign.dast.checks._util import excerpt, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response
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
        expr = f"{a}*{b}"
        polyglot = "".join(s % expr for s in _SYNTAXES[:4])
        spec, resp = await inject(ctx, endpoint, param, param.value + polyglot)
        if resp is not None and product in resp.text:
            return [self._hit(spec, resp, param.name, param.value + polyglot, a, b, product)]
        if resp is not None and 0 < resp.status < 500:
            return []  # every syntax was rendered (or refused) without evaluating
        for syntax in _SYNTAXES:
            payload = param.value + (syntax % expr)
            spec, resp = await inject(ctx, endpoint, param, payload)
            if resp is not None and product in resp.text:
                return [self._hit(spec, resp, param.name, payload, a, b, product)]
        return []

    def _hit(
        self,
        spec: RequestSpec,
        resp: Response,
        name: str,
        payload: str,
        a: int,
        b: int,
        product: str,
    ) -> Hit:
        return Hit(
            request=spec,
            response=resp,
            parameter=name,
            payload=payload,
            proof=excerpt(resp.text, product),
            message=f"{name!r}: the template engine evaluated {a}*{b}",
        )
