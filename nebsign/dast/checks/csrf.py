"""State-changing forms without CSRF protection: a forged cross-site submission is accepted.

Each POST form (login forms too: login CSRF signs the victim into the
attacker's account) is submitted with a foreign ``Origin``/``Referer`` and
every token-like field replaced. If the
application accepts it (2xx/3xx, no refusal text) the form is unprotected.
"""

from __future__ import annotations

import re

from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, ParamKind, RequestSpec
from nebsign.findings import Confidence, Severity

__all__ = ["Csrf"]

FOREIGN = "https://nebsign-csrf.invalid"
_TOKEN_NAMES = re.compile(r"csrf|xsrf|token|nonce|authenticity", re.I)
_REFUSAL = re.compile(r"csrf|forbidden|invalid (?:token|request)|not allowed", re.I)


class Csrf(ActiveCheck):
    rule_id = "csrf"
    title = "Cross-site request forgery"
    severity = Severity.MEDIUM
    cwe = ("CWE-352",)
    recommendation = (
        "Require a per-session anti-CSRF token on state-changing requests and set "
        "SameSite on session cookies; check Origin."
    )

    async def check_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> list[Hit]:
        if endpoint.method != "POST" or not endpoint.extra.get("form"):
            return []
        forged = {p.name: token() for p in endpoint.params if _TOKEN_NAMES.search(p.name)}
        base = endpoint.request(forged)
        spec = RequestSpec(
            base.method,
            base.url,
            query=base.query,
            form=base.form,
            headers=(("Origin", FOREIGN), ("Referer", FOREIGN + "/")),
        )
        resp = await ctx.send(spec)
        if resp is None or resp.status == 0 or resp.status >= 400:
            return []
        if _REFUSAL.search(resp.text[:20000]):
            return []
        fields = [p.name for p in endpoint.params if p.kind is ParamKind.FORM]
        return [
            Hit(
                request=spec,
                response=resp,
                parameter=None,
                payload=f"Origin: {FOREIGN}",
                proof=f"forged submission accepted: HTTP {resp.status}"
                + (f", token field(s) {sorted(forged)} replaced" if forged else ", no token field"),
                message=f"the form posting {', '.join(fields[:6]) or 'no fields'} accepts a "
                "cross-site submission",
                confidence=Confidence.MEDIUM,
            )
        ]
