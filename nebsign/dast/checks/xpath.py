"""XPath injection: a quote makes the XPath engine's error appear."""

from __future__ import annotations

import re

from nebsign.dast.checks._util import excerpt
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["XpathInjection"]

XPATH_ERRORS = re.compile(
    r"(XPathException|XPath ?(?:syntax|eval(?:uation)?) ?error|XPathEvalError|"
    r"invalid predicate|Invalid expression|xmlXPathEval|SimpleXMLElement::xpath|"
    r"DOMXPath::(?:query|evaluate)|javax\.xml\.xpath|MS\.Internal\.Xml\.XPath|"
    r"Unterminated string literal|expected '\]')",
    re.IGNORECASE,
)


class XpathInjection(ActiveCheck):
    rule_id = "xpath-injection"
    title = "XPath injection"
    severity = Severity.HIGH
    cwe = ("CWE-643",)
    recommendation = "Use parameterized XPath (variables) or validate values against an allow-list."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        base = await ctx.baseline(endpoint)
        if base is not None and XPATH_ERRORS.search(base.text):
            return []
        for suffix in ("'", '"', "']", "' or '"):
            payload = param.value + suffix
            spec, resp = await ctx.cached(endpoint, param, payload)
            if resp is not None and (m := XPATH_ERRORS.search(resp.text)):
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=excerpt(resp.text, m.group(0)),
                        message=f"appending {suffix!r} to {param.name!r} breaks an XPath query",
                    )
                ]
        return []
