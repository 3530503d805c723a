"""Reflected XSS with context-aware canaries (HTML body, attribute, script, URL)."""

from __future__ import annotations

import re

from nebsign.dast.checks._util import excerpt, executes, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Confidence, Severity

__all__ = ["ReflectedXss", "xss_payloads"]


def xss_payloads(call: str) -> list[tuple[str, str]]:
    """(context, payload) pairs that call *call* (e.g. ``nabc()``) if not escaped."""
    return [
        ("html", f"<img src=x onerror={call}>"),
        ("attribute", f'"autofocus onfocus={call} x="'),
        ("attribute", f"'autofocus onfocus={call} x='"),
        ("attribute", f'"><img src=x onerror={call}>'),
        ("script", f"';{call};//"),
        ("script", f'";{call};//'),
        ("script", f"</script><img src=x onerror={call}>"),
        ("url", f"javascript:{call}"),
    ]


def _contexts(page: str, marker: str) -> set[str]:
    """Rough contexts of *marker*'s reflections, to order the payloads."""
    found = set()
    for m in re.finditer(re.escape(marker), page):
        before = page[max(0, m.start() - 300) : m.start()]
        if before.lower().rfind("<script") > before.lower().rfind("</script"):
            found.add("script")
        elif re.search(r"(?:href|src|action)\s*=\s*[\"']?$", before, re.I):
            found.add("url")
        elif before.rfind("<") > before.rfind(">"):
            found.add("attribute")
        else:
            found.add("html")
    return found


class ReflectedXss(ActiveCheck):
    rule_id = "xss-reflected"
    title = "Reflected cross-site scripting"
    severity = Severity.HIGH
    cwe = ("CWE-79",)
    recommendation = (
        "Encode output for its context (HTML, attribute, JavaScript, URL); use a "
        "template engine with autoescaping and a Content-Security-Policy."
    )
    xss = True

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        marker = token()
        _, resp = await inject(ctx, endpoint, param, marker)
        if resp is None or marker not in resp.text:
            return []
        contexts = _contexts(resp.text, marker)
        payloads = sorted(xss_payloads("X"), key=lambda cp: cp[0] not in contexts)
        for context, template in payloads:
            tok = token()
            call = f"{tok}()"
            payload = template.replace("X", call)
            spec, probe = await inject(ctx, endpoint, param, payload)
            if probe is None or not probe.is_html:
                continue
            where = executes(probe.text, call)
            if where is None:
                continue
            return [
                Hit(
                    request=spec,
                    response=probe,
                    parameter=param.name,
                    payload=payload,
                    proof=excerpt(probe.text, call),
                    message=f"{param.name!r} is reflected unencoded in {context} context; "
                    f"the payload lands in {where}",
                    confidence=Confidence.MEDIUM,
                    properties={"context": context, "xss_token": tok},
                )
            ]
        return []
