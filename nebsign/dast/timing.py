"""Time-based proof that a payload makes the server wait, robust to load.

A server cannot answer a request that sleeps D seconds in less than D, so a
fast answer refutes a delay at once (one request for a clean parameter). A
slow answer proves nothing on a loaded machine, so confirmation interleaves
the payload with a *control*: the same payload with a zero delay (same
syntax, same parsing, same work except the sleep). The delay is confirmed
only if, in each of ``rounds`` rounds, the delayed request took at least D
and at least ``0.8 * D`` longer than the control sent right before it, and a
final request with delay 2D took at least 2D. Load slows controls and
payloads alike; it cannot make every delayed request, and only those, slower
by the requested amount, round after round. Any delayed request faster than D
refutes at once. A round whose control is slow (over D/2: a saturated server)
proves nothing either way and is repeated, at most ``MAX_INCONCLUSIVE`` times;
after that the result is "no finding", never a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nebsign.dast.model import RequestSpec, Response

__all__ = ["DelayProof", "confirm_delay"]

MAX_INCONCLUSIVE = 3

Send = Callable[[float], Awaitable[tuple[RequestSpec, Response | None]]]


@dataclass(frozen=True, slots=True)
class DelayProof:
    delay: float
    controls: tuple[float, ...]
    delayed: tuple[float, ...]
    doubled: float
    request: RequestSpec
    response: Response

    def summary(self) -> str:
        c = ", ".join(f"{t:.2f}" for t in self.controls)
        d = ", ".join(f"{t:.2f}" for t in self.delayed)
        return (
            f"delay {self.delay:g} s: delayed responses took {d} s; zero-delay controls "
            f"{c} s; delay {2 * self.delay:g} s took {self.doubled:.2f} s"
        )


async def confirm_delay(send: Send, *, delay: float = 1.0, rounds: int = 3) -> DelayProof | None:
    """Send ``send(delay)`` / ``send(0)`` interleaved; a :class:`DelayProof` or None."""
    spec, first = await send(delay)
    if first is None or first.status == 0 or first.elapsed < delay:
        return None
    controls: list[float] = []
    delayed: list[float] = []
    last: tuple[RequestSpec, Response] = (spec, first)
    for _ in range(rounds + MAX_INCONCLUSIVE):
        if len(delayed) >= rounds:
            break
        _, control = await send(0.0)
        spec, probe = await send(delay)
        if control is None or probe is None or control.status == 0 or probe.status == 0:
            return None
        if probe.elapsed < delay:
            return None  # the server answered faster than the sleep: refuted
        if control.elapsed > delay / 2 or probe.elapsed - control.elapsed < 0.8 * delay:
            continue  # a loaded server: this round proves nothing either way
        controls.append(control.elapsed)
        delayed.append(probe.elapsed)
        last = (spec, probe)
    if len(delayed) < rounds:
        return None
    _, double = await send(2 * delay)
    if double is None or double.status == 0 or double.elapsed < 2 * delay:
        return None
    return DelayProof(delay, tuple(controls), tuple(delayed), double.elapsed, *last)
