"""Login bypass by SQL injection: a tautology in the user name logs in.

The form is sent three times: with random credentials (the failure page),
with ``' OR '1'='1`` (a tautology) and with ``' OR '1'='2`` (a contradiction
of the same shape). Only if the tautology's response differs from the failure
while the contradiction's does not, is it a bypass.
"""

from __future__ import annotations

from nebsign.dast.checks._util import similar, strip_reflections
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, ParamKind, Response
from nebsign.findings import Severity

__all__ = ["LoginBypass"]

_PAIRS = (
    ("' OR '1'='1' -- ", "' OR '1'='2' -- "),
    ("' OR 1=1-- ", "' OR 1=2-- "),
    ('" OR "1"="1" -- ', '" OR "1"="2" -- '),
)


def _shape(resp: Response, injected: tuple[str, ...]) -> tuple[int, str, str, str]:
    cookies = ",".join(sorted(c.split("=", 1)[0].strip() for c in resp.header_all("set-cookie")))
    return (
        resp.status,
        resp.header("location") or "",
        cookies,
        strip_reflections(resp.text, injected),
    )


def _same(a: tuple[int, str, str, str], b: tuple[int, str, str, str]) -> bool:
    return a[:3] == b[:3] and similar(a[3], b[3]) >= 0.95


class LoginBypass(ActiveCheck):
    rule_id = "login-bypass-sqli"
    title = "Authentication bypass by SQL injection"
    severity = Severity.CRITICAL
    cwe = ("CWE-89", "CWE-287")
    recommendation = "Use parameterized queries in the login check; compare password hashes."

    async def check_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> list[Hit]:
        if endpoint.method != "POST":
            return []
        password = next((p for p in endpoint.params if p.field_type == "password"), None)
        user = next(
            (
                p
                for p in endpoint.params
                if p.kind is ParamKind.FORM and p.field_type in ("text", "email") and p != password
            ),
            None,
        )
        if password is None or user is None:
            return []
        wrong_user, wrong_pw = token(), token()
        fail = await ctx.send(endpoint.request({user.name: wrong_user, password.name: wrong_pw}))
        if fail is None or fail.status == 0:
            return []
        fail_shape = _shape(fail, (wrong_user, wrong_pw))
        for yes, no in _PAIRS:
            values_yes = {user.name: yes, password.name: wrong_pw}
            spec = endpoint.request(values_yes)
            ok = await ctx.send(spec)
            bad = await ctx.send(endpoint.request({user.name: no, password.name: wrong_pw}))
            if ok is None or bad is None or ok.status == 0 or bad.status == 0:
                continue
            ok_shape = _shape(ok, (yes, no, wrong_pw))
            bad_shape = _shape(bad, (yes, no, wrong_pw))
            if _same(bad_shape, fail_shape) and not _same(ok_shape, fail_shape):
                return [
                    Hit(
                        request=spec,
                        response=ok,
                        parameter=user.name,
                        payload=yes,
                        proof=f"failed login: HTTP {fail.status}; tautology: HTTP {ok.status}"
                        + (f" Location {ok.header('location')}" if ok.header("location") else "")
                        + (f" sets cookie(s) {ok_shape[2]}" if ok_shape[2] else "")
                        + f"; contradiction: HTTP {bad.status} (same as the failure)",
                        message=f"a SQL tautology in {user.name!r} logs in without a password",
                    )
                ]
        return []
