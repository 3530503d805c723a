"""OS command injection: an ``echo`` of shell arithmetic, then a time-based ``sleep``.

Only ``echo`` and ``sleep`` are ever run. The echo marker is computed by the
shell (``$((a*b))``), so an echo of the payload itself never contains it.
"""

from __future__ import annotations

from nebsign.dast.checks._util import excerpt, inject
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit, token
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response
from nebsign.dast.timing import confirm_delay
from nebsign.findings import Severity

__all__ = ["CommandInjection"]

#: how a command is appended to the offered value {v}
_VARIANTS = (
    "{v};{cmd}",
    "{v}|{cmd}",
    "{v}&&{cmd}",
    "{v}\n{cmd}",
    "{v}';{cmd};'",
    '{v}";{cmd};"',
    "{v}$({cmd})",
    "{v}`{cmd}`",
)
DELAY = 1.0


class CommandInjection(ActiveCheck):
    rule_id = "command-injection"
    title = "OS command injection"
    severity = Severity.CRITICAL
    cwe = ("CWE-78",)
    recommendation = (
        "Never pass request values to a shell; call programs with an argument list "
        "and validate values against an allow-list."
    )

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        a, b = 1000 + int(token()[1:5], 16) % 9000, 7331
        prefix = token()
        expected = f"{prefix}{a * b}x"
        # one request per variant: the echo proves it at once, the sleep makes a blind
        # injection slow (a clean parameter answers fast and costs nothing more)
        probe = f"echo {prefix}$(({a}*{b}))x;sleep {DELAY:g}"
        for variant in _VARIANTS:
            payload = variant.replace("{v}", param.value).replace("{cmd}", probe)
            spec, resp = await inject(ctx, endpoint, param, payload, timeout=4 * DELAY + 10)
            if resp is None:
                continue
            if expected in resp.text:
                return [
                    Hit(
                        request=spec,
                        response=resp,
                        parameter=param.name,
                        payload=payload,
                        proof=excerpt(resp.text, expected),
                        message=f"{param.name!r}: the shell ran an injected echo "
                        f"({a}*{b} came back computed)",
                        properties={"technique": "echo"},
                    )
                ]
            if resp.status == 0 or resp.elapsed < DELAY:
                continue
            template = variant.replace("{v}", param.value).replace("{cmd}", "sleep {d}")

            async def send(d: float, t: str = template) -> tuple[RequestSpec, Response | None]:
                return await inject(
                    ctx, endpoint, param, t.replace("{d}", f"{d:g}"), timeout=4 * DELAY + 10
                )

            proof = await confirm_delay(send, delay=DELAY)
            if proof is not None:
                return [
                    Hit(
                        request=proof.request,
                        response=proof.response,
                        parameter=param.name,
                        payload=template.replace("{d}", f"{DELAY:g}"),
                        proof=proof.summary(),
                        message=f"{param.name!r}: an injected sleep delays the response, "
                        "round after round",
                        properties={"technique": "time", "timing": proof.summary()},
                    )
                ]
        return []
