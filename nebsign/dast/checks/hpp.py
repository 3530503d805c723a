"""HTTP parameter pollution: an encoded ``&`` in a value becomes a new parameter in links."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.html import parse_html
from nebsign.dast.model import Endpoint, Param, join_url
from nebsign.findings import Severity

__all__ = ["ParameterPollution"]

INJECTED = "nebsignhpp"


class ParameterPollution(ActiveCheck):
    rule_id = "http-parameter-pollution"
    title = "HTTP parameter pollution"
    severity = Severity.MEDIUM
    cwe = ("CWE-235", "CWE-88")
    recommendation = "URL-encode values when building links and URLs (urlencode, not string joins)."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        tok = token()
        payload = f"{param.value or 'x'}&{INJECTED}={tok}"
        spec, resp = await inject(ctx, endpoint, param, payload)
        if resp is None or not resp.is_html or tok not in resp.text:
            return []
        info = parse_html(resp.text)
        urls = list(info.links) + [f.action for f in info.forms]
        for url in urls:
            joined = join_url(resp.url, url)
            if joined is None:
                continue
            query = urlsplit(joined).query
            if (INJECTED, tok) in parse_qsl(query, keep_blank_values=True):
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=f"link in the page: {url[:200]}",
                        message=f"{param.name!r} is copied into a URL unencoded: an '&' in it "
                        "adds parameters",
                    )
                ]
        return []
