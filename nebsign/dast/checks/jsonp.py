"""JSONP callback injection: any JavaScript in the callback name comes back as code."""

from __future__ import annotations

import re

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["JsonpCallback"]

_NAMES = re.compile(r"^(callback|cb|jsonp|jsonpcallback|jsoncallback|function|func)$", re.I)


class JsonpCallback(ActiveCheck):
    rule_id = "jsonp-callback"
    title = "JSONP callback injection"
    severity = Severity.MEDIUM
    cwe = ("CWE-79", "CWE-116")
    recommendation = (
        "Drop JSONP for CORS; if kept, accept only identifiers (^[A-Za-z_$][\\w$.]*$) "
        "as callback names."
    )

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        if not _NAMES.match(param.name):
            return []
        tok = token()
        payload = f"{tok}=1;{tok}.x({tok});//"
        spec, resp = await inject(ctx, endpoint, param, payload)
        if resp is None or "html" in resp.content_type:
            return []
        body = resp.text.lstrip()
        if body.startswith("/**/"):
            body = body[4:].lstrip()
        if body.startswith(payload):
            return [
                Hit(
                    request=spec,
                    response=resp,
                    parameter=param.name,
                    payload=payload,
                    proof=resp.text[:200],
                    message=f"{param.name!r}: the response starts with the callback as given, "
                    "so any script can be injected",
                )
            ]
        return []
