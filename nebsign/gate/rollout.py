"""The canary-to-global time limit, checked over verified gate statements (pure).

Times are the ``decided_at`` of GATE_V1 predicates: signed with the verdict,
so the limit is judged by the signed times of the gate attestations, never by
the metrics' own timestamps. The path starts at the earliest passing canary
gate for the release and must reach global promotion (*now*) within the
limit (24 h by default), with a passing regional gate in between. Callers
pass only statements that :func:`nebsign.verify.verify_attestation` returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nebsign.attest import GATE_V1, InvalidStatement, Statement
from nebsign.errors import VerdictError

__all__ = ["GateRecord", "RolloutTooSlow", "check_rollout", "gate_records"]


class RolloutTooSlow(VerdictError):
    """The canary-to-global path is missing a passing gate or took longer than the limit."""

    reason = "rollout-too-slow"


@dataclass(frozen=True, slots=True)
class GateRecord:
    gate: str
    verdict: str
    decided_at: datetime


def _parse_time(text: object) -> datetime:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise InvalidStatement("gate statement: decided_at must be an RFC 3339 UTC time")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidStatement(f"gate statement: decided_at {text[:40]!r} is not a time") from exc


def gate_records(statements: Sequence[Statement], manifest_sha256: str) -> list[GateRecord]:
    """The gate decisions about *manifest_sha256*, oldest first."""
    sha = manifest_sha256.removeprefix("sha256:")
    out = []
    for st in statements:
        if st.predicate_type != GATE_V1 or not st.covers(sha):
            continue
        gate, verdict = st.predicate.get("gate"), st.predicate.get("verdict")
        if not isinstance(gate, str) or not isinstance(verdict, str):
            raise InvalidStatement("gate statement: gate and verdict must be strings")
        out.append(GateRecord(gate, verdict, _parse_time(st.predicate.get("decided_at"))))
    return sorted(out, key=lambda r: r.decided_at)


def check_rollout(
    statements: Sequence[Statement],
    manifest_sha256: str,
    *,
    now: datetime,
    limit: timedelta = timedelta(hours=24),
) -> timedelta:
    """Return the elapsed path time, or raise :class:`RolloutTooSlow`."""
    records = gate_records(statements, manifest_sha256)
    canary = [r for r in records if r.gate == "canary" and r.verdict == "pass"]
    if not canary:
        raise RolloutTooSlow("no passing canary gate attestation covers the release")
    start = canary[0].decided_at
    regional = [
        r for r in records if r.gate == "regional" and r.verdict == "pass" and r.decided_at >= start
    ]
    if not regional:
        raise RolloutTooSlow("no passing regional gate attestation after the canary gate")
    if now < regional[0].decided_at:
        raise RolloutTooSlow("the promotion time is before the regional gate's signed time")
    elapsed = now - start
    if elapsed > limit:
        raise RolloutTooSlow(
            f"canary-to-global took {elapsed} (signed canary gate at "
            f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}), more than the limit of {limit}",
            hint="run the canary again",
        )
    return elapsed
