"""The promotion rules, judged from verified gate statements (pure, no I/O).

The release protocol: a canary gate PASS over at least 4 h before any
regional channel; a regional gate PASS over at least 12 h before global; and
canary start to global within 24 h, by the gates' signed ``decided_at``
(the rule of :func:`nebsign.gate.rollout.check_rollout`, which this core
module cannot import; a property test holds the two to the same verdicts). The
same function serves
``nebsign promote`` (the publisher) and the agent (each host judges the
evidence itself), so a stolen promotion key alone cannot push an ungated
release. Only statements that :func:`nebsign.verify.verify_attestation`
returned may be passed in; each comes with the SHA-256 of its bundle bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from nebsign.attest import GATE_V1, Statement
from nebsign.channels.model import Evidence, Phase, parse_time
from nebsign.errors import InputError, VerdictError

__all__ = ["GateEvidence", "PromotionRefused", "PromotionRules", "check_promotion"]


class PromotionRefused(VerdictError):
    """The signed gate evidence does not allow this release into this channel."""

    reason: ClassVar[str] = "ungated"


@dataclass(frozen=True, slots=True)
class PromotionRules:
    canary_hours: Decimal = Decimal(4)
    regional_hours: Decimal = Decimal(12)
    max_hours: Decimal = Decimal(24)


_RULES = PromotionRules()


@dataclass(frozen=True, slots=True)
class GateEvidence:
    """A verified gate statement and the SHA-256 of the bundle it came in."""

    bundle_sha256: str
    statement: Statement


@dataclass(frozen=True, slots=True)
class _Gate:
    evidence: GateEvidence
    gate: str
    decided_at: datetime
    hours: Decimal | None


def _gates(evidence: Sequence[GateEvidence], manifest_sha256: str) -> tuple[list[_Gate], list[str]]:
    """Passing gate decisions about the manifest, oldest first, and notes on the rest."""
    out: list[_Gate] = []
    notes: list[str] = []
    for ev in evidence:
        st = ev.statement
        if st.predicate_type != GATE_V1:
            continue
        gate = st.predicate.get("gate")
        if not isinstance(gate, str):
            continue
        if not st.covers(manifest_sha256):
            notes.append(f"a {gate[:20]} gate attestation is about another manifest")
            continue
        if st.predicate.get("verdict") != "pass":
            said = str(st.predicate.get("verdict"))[:20]
            notes.append(f"a {gate[:20]} gate attestation says {said}")
            continue
        try:
            when = parse_time(st.predicate.get("decided_at"), "gate decided_at")
        except InputError:
            notes.append(f"a {gate[:20]} gate attestation has no signed decided_at")
            continue
        out.append(_Gate(ev, gate, when, _hours(st.predicate.get("window"))))
    return sorted(out, key=lambda g: g.decided_at), notes


def _hours(window: object) -> Decimal | None:
    if not isinstance(window, dict) or not isinstance(window.get("hours"), str):
        return None
    try:
        value = Decimal(window["hours"])
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _one(gates: list[_Gate], kind: str, hours: Decimal, at: datetime, notes: list[str]) -> _Gate:
    passing = [g for g in gates if g.gate == kind]
    long_enough = [g for g in passing if g.hours is not None and g.hours >= hours]
    timely = [g for g in long_enough if g.decided_at <= at]
    if timely:
        return timely[0]
    if long_enough:
        why = f"its signed time is after the promotion ({at:%Y-%m-%dT%H:%M:%SZ})"
    elif passing:
        got = max((g.hours for g in passing if g.hours is not None), default=None)
        why = f"its window was {got} h, less than the required {hours} h"
    else:
        why = "none about this manifest passed" + (f" ({notes[0]})" if notes else "")
    raise PromotionRefused(f"no passing {kind} gate over >= {hours} h: {why}")


def check_promotion(
    phase: Phase,
    evidence: Sequence[GateEvidence],
    manifest_sha256: str,
    *,
    at: datetime,
    rules: PromotionRules = _RULES,
    rollback: bool = False,
) -> tuple[Evidence, ...]:
    """The evidence that lets *manifest_sha256* into a *phase* channel at *at*; else raise.

    A rollback re-enters a release that was gated when first promoted: its
    gates must still be there and pass with their windows, but the 24 h limit
    (which is about a forward rollout) does not apply.
    """
    sha = manifest_sha256.removeprefix("sha256:")
    if phase in (Phase.STAGING, Phase.CANARY):
        return ()
    gates, notes = _gates(evidence, sha)
    canary = _one(gates, "canary", rules.canary_hours, at, notes)
    used = [canary]
    if phase is Phase.GLOBAL:
        later = [g for g in gates if g.decided_at >= canary.decided_at]
        regional = _one(later, "regional", rules.regional_hours, at, notes)
        used.append(regional)
        limit = timedelta(hours=float(rules.max_hours))
        elapsed = at - canary.decided_at
        if not rollback and elapsed > limit:
            # the rule of nebsign.gate.rollout.check_rollout (tests hold the two equal)
            raise PromotionRefused(
                f"canary-to-global took {elapsed} (signed canary gate at "
                f"{canary.decided_at:%Y-%m-%dT%H:%M:%SZ}), more than the limit of {limit}"
            )
    return tuple(Evidence(g.gate, g.evidence.bundle_sha256) for g in used)
