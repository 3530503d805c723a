"""The canary-to-global limit as a pure function over (verified) gate statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nebsign.attest import GATE_V1, SAST_V1, InvalidStatement, Statement, Subject
from nebsign.gate.rollout import RolloutTooSlow, check_rollout

SHA = "a" * 64
OTHER = "b" * 64
T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


def gate(kind: str, verdict: str, at: datetime, sha: str = SHA, ptype: str = GATE_V1) -> Statement:
    pred = {"gate": kind, "verdict": verdict, "decided_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return Statement((Subject("release.json", sha),), ptype, pred)


def test_exactly_the_limit_passes_one_second_more_fails() -> None:
    stmts = [gate("canary", "pass", T0), gate("regional", "pass", T0 + timedelta(hours=13))]
    assert check_rollout(stmts, SHA, now=T0 + timedelta(hours=24)) == timedelta(hours=24)
    with pytest.raises(RolloutTooSlow, match="more than the limit"):
        check_rollout(stmts, f"sha256:{SHA}", now=T0 + timedelta(hours=24, seconds=1))


def test_the_path_starts_at_the_earliest_passing_canary() -> None:
    stmts = [
        gate("canary", "fail", T0 - timedelta(hours=30)),  # a failed attempt does not start it
        gate("canary", "pass", T0),
        gate("canary", "pass", T0 + timedelta(hours=5)),  # a re-run does not restart it
        gate("regional", "pass", T0 + timedelta(hours=18)),
    ]
    with pytest.raises(RolloutTooSlow):
        check_rollout(stmts, SHA, now=T0 + timedelta(hours=25))


@pytest.mark.parametrize(
    "stmts",
    [
        [gate("regional", "pass", T0)],
        [gate("canary", "pass", T0)],
        [gate("canary", "pass", T0), gate("regional", "fail", T0 + timedelta(hours=13))],
        [gate("canary", "pass", T0), gate("regional", "pass", T0 - timedelta(hours=1))],
        [gate("canary", "pass", T0), gate("regional", "pass", T0, sha=OTHER)],
        [gate("canary", "pass", T0, sha=OTHER), gate("regional", "pass", T0)],
        [gate("canary", "pass", T0, ptype=SAST_V1), gate("regional", "pass", T0)],
    ],
    ids=[
        "no-canary",
        "no-regional",
        "regional-failed",
        "regional-first",
        "other-release",
        "canary-other-release",
        "not-a-gate",
    ],
)
def test_missing_or_misordered_gates_fail(stmts: list[Statement]) -> None:
    with pytest.raises(RolloutTooSlow):
        check_rollout(stmts, SHA, now=T0 + timedelta(hours=14))


def test_promotion_before_the_regional_gate_fails() -> None:
    stmts = [gate("canary", "pass", T0), gate("regional", "pass", T0 + timedelta(hours=13))]
    with pytest.raises(RolloutTooSlow):
        check_rollout(stmts, SHA, now=T0 + timedelta(hours=12))


@pytest.mark.parametrize("bad", ["2026-03-01T08:00:00", "yesterday", 1767225600, None])
def test_malformed_signed_time_is_invalid(bad: object) -> None:
    stmt = Statement(
        (Subject("release.json", SHA),),
        GATE_V1,
        {"gate": "canary", "verdict": "pass", "decided_at": bad},
    )
    with pytest.raises(InvalidStatement):
        check_rollout([stmt], SHA, now=T0)
