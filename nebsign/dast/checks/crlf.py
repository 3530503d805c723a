"""CRLF / header injection: a CR LF in a value starts a new response header."""

from __future__ import annotations

from nebsign.dast.checks._util import inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["CrlfInjection"]

HEADER = "X-Nebsign-Crlf"


class CrlfInjection(ActiveCheck):
    rule_id = "crlf-injection"
    title = "CRLF injection (HTTP response splitting)"
    severity = Severity.MEDIUM
    cwe = ("CWE-93", "CWE-113")
    recommendation = "Reject or encode CR and LF in values placed in response headers."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        tok = token()
        for sep in ("\r\n", "\n", "\r"):
            payload = f"{param.value}{sep}{HEADER}: {tok}"
            spec, resp = await inject(ctx, endpoint, param, payload)
            if resp is None:
                continue
            if any(v.strip() == tok for v in resp.header_all(HEADER)):
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=f"{HEADER}: {tok}",
                        message=f"{param.name!r}: a line break in the value adds a response header",
                    )
                ]
        return []
