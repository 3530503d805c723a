"""A scan's verdict (SAST, DAST) as a release step's result: pass/fail, reason, what to sign."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from nebsign.attest import Subject
from nebsign.findings import Finding
from nebsign.release.model import StepResult

__all__ = ["scan_result"]


class _Verdict(Protocol):
    @property
    def passed(self) -> bool: ...

    @property
    def failing(self) -> Sequence[Finding]: ...

    def reason(self) -> str: ...


def scan_result(
    step: str, verdict: _Verdict, predicate_type: str, predicate: dict[str, Any], subject: Subject
) -> StepResult:
    """The step's result; a failing verdict's reason names its first failing finding."""
    reason = verdict.reason()
    if not verdict.passed and verdict.failing:
        first = sorted(verdict.failing, key=Finding.sort_key)[0]
        reason += f"; first: {first.location} {first.rule_id} ({first.title})"
    return StepResult(
        step=step,
        verdict="pass" if verdict.passed else "fail",
        reason=reason,
        predicate_type=predicate_type,
        predicate=predicate,
        subjects=(subject,),
    )
