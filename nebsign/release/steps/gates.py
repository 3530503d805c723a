"""Release steps: the staging KPI gate and the canary gate, when their metrics are given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nebsign._internal.readlimit import read_bounded
from nebsign.attest import GATE_V1
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult

if TYPE_CHECKING:
    from nebsign.gate.policy import GatesPolicy

__all__ = ["CANARY", "STAGING", "GateStep"]


def _read(paths: tuple[Path, ...], role: str) -> list[tuple[str, bytes]]:
    from nebsign.gate.readers import MAX_METRICS_BYTES
    from nebsign.gate.series import printable

    return [
        (printable(str(p)), read_bounded(p, MAX_METRICS_BYTES, f"{role} metrics")) for p in paths
    ]


def _policy(path: Path | None) -> GatesPolicy:
    from nebsign._internal.resources import data_path
    from nebsign.gate.policy import parse_gates_policy
    from nebsign.policy import MAX_POLICY_BYTES

    target = path if path is not None else data_path("policies") / "default.toml"
    return parse_gates_policy(read_bounded(target, MAX_POLICY_BYTES, "policy"), f"policy {target}")


class GateStep:
    """``staging`` (baseline vs current runs) or ``canary`` (thresholds over a window)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = f"gate-{kind}"

    def applies(self, request: ReleaseRequest) -> bool:
        if self.kind == "staging":
            return bool(request.staging_current)
        return bool(request.canary_metrics)

    def check(self, request: ReleaseRequest) -> None:
        from nebsign._internal.extras import require_extra
        from nebsign.gate.readers import read_metrics

        require_extra("gates", f"nebsign release (the {self.kind} gate)")
        _policy(request.policy_path)
        paths = (
            (*request.staging_baseline, *request.staging_current)
            if self.kind == "staging"
            else request.canary_metrics
        )
        for name, raw in _read(paths, self.kind):
            read_metrics(raw, name)

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.gate.report import predicate
        from nebsign.gate.run import run_canary, run_staging, tool_versions

        req = ctx.request
        policy = _policy(req.policy_path)
        if self.kind == "staging":
            base = _read(req.staging_baseline, "baseline")
            cur = _read(req.staging_current, "current")
            result = run_staging(base, cur, policy)
            inputs = [("baseline", b) for b in base] + [("current", c) for c in cur]
        else:
            metrics = _read(req.canary_metrics, "canary")
            result = run_canary(metrics, policy)
            inputs = [("metrics", m) for m in metrics]
        roles = [(f"{role}:{os.path.basename(name)}", raw) for role, (name, raw) in inputs]
        pred = predicate(
            result,
            policy_digest=policy.digest,
            inputs=roles,
            tools=tool_versions(),
            decided_at=ctx.decided_at,
        )
        return StepResult(
            step=self.name,
            verdict=result.verdict.value,
            reason=f"{self.kind} gate {result.verdict.value.upper()}: {result.reason}",
            predicate_type=GATE_V1,
            predicate=pred,
        )


STAGING = GateStep("staging")
CANARY = GateStep("canary")
