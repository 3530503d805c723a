"""Where a parameter lands in SQL: shared evidence for the boolean and UNION checks.

A context is reported only if a syntax-breaking suffix changes the page
(beyond echoing the value) *and* a syntax-neutral SQL suffix gives the
baseline page back: ``x'`` breaks and ``x'||'`` (or ``x' '``, ``x'+'``)
restores a string context; ``x AND`` breaks and ``x-0`` restores a numeric
one. Validation errors of a hardened app break both, so they never count.
The probes are shared through :meth:`CheckContext.cached`.
"""

from __future__ import annotations

from nebsign.dast.checks._util import strip_reflections
from nebsign.dast.checks.interface import CheckContext
from nebsign.dast.model import Endpoint, Param, Response

__all__ = ["changed", "sql_contexts"]

_NEUTRAL = {"'": ("'||'", "' '", "'+'"), '"': ('"||"', '" "', '"+"')}


def changed(base: Response, probe: Response, value: str, injected: str) -> bool:
    """Whether *probe*'s page differs from *base*'s beyond an echo of the values."""
    if probe.status != base.status:
        return True
    return strip_reflections(probe.text, (injected, value)) != strip_reflections(
        base.text, (value,)
    )


async def sql_contexts(ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[str]:
    """The contexts among ``'``, ``"`` and ``""`` (numeric) the value seems to land in."""
    base = await ctx.baseline(endpoint)
    if base is None or base.status == 0:
        return []
    v = param.value
    out: list[str] = []
    for quote, neutrals in _NEUTRAL.items():
        _, broken = await ctx.cached(endpoint, param, v + quote)
        if broken is None or not changed(base, broken, v, v + quote):
            continue
        for neutral in neutrals:
            _, same = await ctx.cached(endpoint, param, v + neutral)
            if same is not None and not changed(base, same, v, v + neutral):
                out.append(quote)
                break
    if v.lstrip("-").isdigit():
        _, broken = await ctx.cached(endpoint, param, v + " AND")
        _, same = await ctx.cached(endpoint, param, v + "-0")
        if (
            broken is not None
            and same is not None
            and changed(base, broken, v, v + " AND")
            and not changed(base, same, v, v + "-0")
        ):
            out.append("")
    return out
