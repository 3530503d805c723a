"""DOM XSS: page scripts that write a URL-controlled value into an HTML sink."""

from __future__ import annotations

import re

from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.html import parse_html
from nebsign.dast.model import RequestSpec
from nebsign.findings import Confidence, Severity

__all__ = ["DomXss"]

_SOURCE = (
    r"(?:location\s*\.\s*(?:hash|search|href)|document\s*\.\s*(?:URL|documentURI|"
    r"referrer|baseURI)|window\s*\.\s*name)"
)
_ASSIGN = re.compile(r"(?:var|let|const)?\s*([A-Za-z_$][\w$]*)\s*=\s*([^;\n]*)")
_SINKS = re.compile(
    r"(?:\.(?:innerHTML|outerHTML)\s*=\s*([^;\n]+)|\.insertAdjacentHTML\s*\(([^;\n]+)"
    r"|document\s*\.\s*write(?:ln)?\s*\(([^;\n]+)|\beval\s*\(([^;\n]+))"
)
_SANITIZERS = re.compile(r"encodeURIComponent|DOMPurify|escapeHtml|textContent|encodeURI\b")


def tainted_sink(script: str) -> str | None:
    """The first sink expression fed by a URL source (directly or via a variable)."""
    tainted: set[str] = set()
    for _ in range(3):
        for m in _ASSIGN.finditer(script):
            name, rhs = m.group(1), m.group(2)
            if (
                re.search(_SOURCE, rhs)
                or any(re.search(rf"\b{re.escape(t)}\b", rhs) for t in tainted)
            ) and not _SANITIZERS.search(rhs):
                tainted.add(name)
    for m in _SINKS.finditer(script):
        expr = next(g for g in m.groups() if g is not None)
        if _SANITIZERS.search(expr):
            continue
        if re.search(_SOURCE, expr) or any(
            re.search(rf"\b{re.escape(t)}\b", expr) for t in tainted
        ):
            return m.group(0).strip()
    return None


class DomXss(ActiveCheck):
    rule_id = "xss-dom"
    title = "DOM-based cross-site scripting"
    severity = Severity.HIGH
    cwe = ("CWE-79",)
    recommendation = (
        "Write URL-derived values with textContent or setAttribute, never innerHTML, "
        "document.write or eval."
    )
    xss = True

    async def check_site(self, ctx: CheckContext) -> list[Hit]:
        hits = []
        seen: set[str] = set()
        for page in ctx.pages:
            if not page.is_html:
                continue
            for script in parse_html(page.text).scripts:
                sink = tainted_sink(script)
                if sink is None or page.url in seen:
                    continue
                seen.add(page.url)
                tok = token()
                payload = f"<img src=x onerror={tok}()>"
                hits.append(
                    Hit(
                        request=RequestSpec("GET", page.url.split("#")[0] + "#" + payload),
                        response=page,
                        parameter="#fragment",
                        payload=payload,
                        proof=sink[:300],
                        message="page script writes a URL-controlled value into an HTML sink: "
                        + sink[:120],
                        confidence=Confidence.MEDIUM,
                        properties={"xss_token": tok, "dom": True},
                    )
                )
        return hits
