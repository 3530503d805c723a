"""XPath injection: a quote makes the XPath engine's error appear."""

from __future__ import annotations

import re

from nebsign.dast.checks._util import signature_probe
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

_SUFFIXES = ("'", '"', "']", "' or '")


class XpathInjection(ActiveCheck):
    rule_id = "xpath-injection"
    title = "XPath injection"
    severity = Severity.HIGH
    cwe = ("CWE-643",)
    recommendation = "Use parameterized XPath (variables) or validate values against an allow-list."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        payloads = (param.value + suffix for suffix in _SUFFIXES)
        found = await signature_probe(ctx, endpoint, param, payloads, XPATH_ERRORS, shared=True)
        if found is None:
            return []
        return found.hit(
            param,
            f"appending {found.payload.removeprefix(param.value)!r} to "
            f"{param.name!r} breaks an XPath query",
        )
