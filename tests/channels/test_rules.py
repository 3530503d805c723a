"""The promotion rules as a pure function over verified gate statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.attest import GATE_V1, SAST_V1, Statement, Subject
from nebsign.channels.model import Evidence, Phase
from nebsign.channels.rules import GateEvidence, PromotionRefused, check_promotion
from nebsign.gate.rollout import RolloutTooSlow, check_rollout

SHA = "a" * 64
OTHER = "b" * 64
T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
H = timedelta(hours=1)


def gate(
    kind: str,
    at: datetime,
    *,
    hours: str | None = "4.000",
    verdict: str = "pass",
    sha: str = SHA,
    ptype: str = GATE_V1,
    tag: str = "",
) -> GateEvidence:
    pred: dict[str, object] = {
        "gate": kind,
        "verdict": verdict,
        "decided_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window": None if hours is None else {"hours": hours},
    }
    st = Statement((Subject("release.json", sha),), ptype, pred)
    return GateEvidence((kind[0] + tag + "0" * 64)[:64].replace("r", "e"), st)


CANARY = gate("canary", T0)
REGIONAL = gate("regional", T0 + 13 * H, hours="12.000")


def test_canary_and_staging_channels_need_no_gate() -> None:
    assert check_promotion(Phase.CANARY, [], SHA, at=T0) == ()
    assert check_promotion(Phase.STAGING, [], SHA, at=T0) == ()


def test_regional_needs_a_canary_over_four_hours() -> None:
    used = check_promotion(Phase.REGIONAL, [CANARY], SHA, at=T0 + H)
    assert used == (Evidence("canary", CANARY.bundle_sha256),)
    short = gate("canary", T0, hours="3.983")  # 3 h 59 min
    with pytest.raises(PromotionRefused, match=r"3\.983 h, less than the required 4 h"):
        check_promotion(Phase.REGIONAL, [short], SHA, at=T0 + H)


@pytest.mark.parametrize(
    "evidence",
    [
        [],
        [gate("canary", T0, verdict="fail")],
        [gate("canary", T0, verdict="inconclusive")],
        [gate("canary", T0, sha=OTHER)],
        [gate("canary", T0, ptype=SAST_V1)],
        [gate("canary", T0, hours=None)],
        [gate("canary", T0, hours="NaN")],
        [gate("canary", T0 + 2 * H)],  # signed after the promotion
        [gate("staging", T0)],
    ],
    ids=[
        "none",
        "fail",
        "inconclusive",
        "other-manifest",
        "not-a-gate",
        "no-window",
        "nan-window",
        "future",
        "staging-only",
    ],
)
def test_regional_refused_without_a_valid_canary(evidence: list[GateEvidence]) -> None:
    with pytest.raises(PromotionRefused, match="canary"):
        check_promotion(Phase.REGIONAL, evidence, SHA, at=T0 + H)


def test_global_needs_regional_over_twelve_hours_within_24() -> None:
    at = T0 + 14 * H
    used = check_promotion(Phase.GLOBAL, [CANARY, REGIONAL], f"sha256:{SHA}", at=at)
    assert [e.gate for e in used] == ["canary", "regional"]
    with pytest.raises(PromotionRefused, match="regional"):
        check_promotion(Phase.GLOBAL, [CANARY], SHA, at=at)
    short = gate("regional", T0 + 13 * H, hours="11.999")
    with pytest.raises(PromotionRefused, match=r"11\.999 h"):
        check_promotion(Phase.GLOBAL, [CANARY, short], SHA, at=at)
    before = gate("regional", T0 - H, hours="12.000")  # before the canary started
    with pytest.raises(PromotionRefused, match="regional"):
        check_promotion(Phase.GLOBAL, [CANARY, before], SHA, at=at)


def test_global_exactly_24h_passes_one_second_more_fails() -> None:
    assert check_promotion(Phase.GLOBAL, [CANARY, REGIONAL], SHA, at=T0 + 24 * H)
    with pytest.raises(PromotionRefused, match="more than the limit"):
        check_promotion(
            Phase.GLOBAL, [CANARY, REGIONAL], SHA, at=T0 + 24 * H + timedelta(seconds=1)
        )


def test_a_rollback_is_not_held_to_the_24h_limit_but_to_its_gates() -> None:
    late = T0 + 30 * 24 * H
    assert check_promotion(Phase.GLOBAL, [CANARY, REGIONAL], SHA, at=late, rollback=True)
    with pytest.raises(PromotionRefused):
        check_promotion(Phase.GLOBAL, [CANARY], SHA, at=late, rollback=True)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=-30, max_value=30),
    st.integers(min_value=-30, max_value=30),
    st.integers(min_value=0, max_value=40 * 3600),
)
def test_the_24h_rule_agrees_with_check_rollout(canary_h: int, regional_h: int, at_s: int) -> None:
    """Windows long enough: the promotion rule and gate.rollout.check_rollout say the same."""
    ev = [gate("canary", T0 + canary_h * H), gate("regional", T0 + regional_h * H, hours="12")]
    at = T0 + timedelta(seconds=at_s)
    try:
        check_rollout([e.statement for e in ev], SHA, now=at)
        rollout_ok = True
    except RolloutTooSlow:
        rollout_ok = False
    try:
        check_promotion(Phase.GLOBAL, ev, SHA, at=at)
        promotion_ok = True
    except PromotionRefused:
        promotion_ok = False
    # the promotion rule also wants the canary gate signed before the promotion
    assert promotion_ok == (rollout_ok and ev[0].statement.predicate["decided_at"] <= _t(at))


def _t(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
