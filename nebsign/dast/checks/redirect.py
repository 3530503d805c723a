"""Open redirect: the application redirects to a host the request names."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param, Response, join_url
from nebsign.findings import Severity

__all__ = ["OpenRedirect", "urlish"]

EVIL = "nebsign-redirect.invalid"
_PAYLOADS = (f"https://{EVIL}/", f"//{EVIL}/", f"/\\{EVIL}/", f"https:{EVIL}/")
_NAMES = re.compile(
    r"(url|uri|next|redirect|return|goto|dest|destination|continue|target|link|to|r|u|"
    r"callback_url|return_to|returnurl|redir|site|src|source|fetch|feed|image|img)$",
    re.I,
)
_META = re.compile(r"<meta[^>]+http-equiv=[\"']?refresh[^>]+url=([^\"'>]+)", re.I)


def urlish(param: Param) -> bool:
    """A parameter that probably carries a URL (by name or offered value)."""
    v = param.value
    return bool(_NAMES.search(param.name)) or v.startswith(("http://", "https://", "/"))


def _target(resp: Response) -> str | None:
    if 300 <= resp.status < 400:
        return resp.header("location")
    m = _META.search(resp.text[:20000]) if resp.is_html else None
    return m.group(1) if m else None


class OpenRedirect(ActiveCheck):
    rule_id = "open-redirect"
    title = "Open redirect"
    severity = Severity.MEDIUM
    cwe = ("CWE-601",)
    recommendation = "Redirect only to relative paths or to an allow-list of hosts."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        if not urlish(param):
            return []
        for payload in _PAYLOADS:
            spec, resp = await inject(ctx, endpoint, param, payload)
            if resp is None:
                continue
            target = _target(resp)
            if not target:
                continue
            resolved = join_url(resp.url, target.strip().replace("\\", "/"))
            if resolved is not None and (urlsplit(resolved).hostname or "").lower() == EVIL:
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=f"HTTP {resp.status} Location: {target[:200]}",
                        message=f"{param.name!r} redirects the browser to any host",
                    )
                ]
        return []
