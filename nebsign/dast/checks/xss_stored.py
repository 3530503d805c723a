"""Stored XSS: submit forms with markers, re-crawl, find markers that would execute."""

from __future__ import annotations

from nebsign.dast.checks._util import excerpt, executes
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import ParamKind, RequestSpec
from nebsign.findings import Confidence, Severity

__all__ = ["StoredXss"]

_TEXT_TYPES = {"text", "textarea", "search", "email", "url", "hidden"}
MAX_PAGES = 50


class StoredXss(ActiveCheck):
    rule_id = "xss-stored"
    title = "Stored cross-site scripting"
    severity = Severity.HIGH
    cwe = ("CWE-79",)
    recommendation = "Encode stored data when it is rendered; never store HTML unsanitized."
    xss = True

    async def check_site(self, ctx: CheckContext) -> list[Hit]:
        submitted: dict[str, tuple[RequestSpec, str, str]] = {}
        for ep in ctx.endpoints:
            if ep.method != "POST" or not ep.extra.get("form"):
                continue
            for param in ep.params:
                if param.kind is not ParamKind.FORM or param.field_type not in _TEXT_TYPES:
                    continue
                if param.field_type == "hidden":
                    continue
                tok = token()
                payload = f"<img src=x onerror={tok}()>"
                spec = ep.request({param.name: payload}, only=param)
                if await ctx.send(spec) is not None:
                    submitted[tok] = (spec, param.name, payload)
        if not submitted:
            return []
        hits: list[Hit] = []
        seen: set[str] = set()
        for page in ctx.pages[:MAX_PAGES]:
            resp = await ctx.send(RequestSpec("GET", page.url))
            if resp is None or not resp.is_html:
                continue
            for tok, (spec, name, payload) in submitted.items():
                if tok in seen:
                    continue
                where = executes(resp.text, f"{tok}()")
                if where is None:
                    continue
                seen.add(tok)
                hits.append(
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=name,
                        payload=payload,
                        proof=excerpt(resp.text, tok),
                        message=f"a value submitted in {name!r} is rendered unencoded on "
                        f"{resp.url} ({where})",
                        confidence=Confidence.MEDIUM,
                        properties={"shown_on": resp.url, "xss_token": tok},
                    )
                )
        return hits
