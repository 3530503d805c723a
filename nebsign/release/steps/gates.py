"""Release steps: the staging KPI gate and the canary gate, when their metrics are given."""

from __future__ import annotations

from nebsign.attest import GATE_V1
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult

__all__ = ["CANARY", "STAGING", "GateStep"]


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
        from nebsign.gate.files import load_gates_policy, read_inputs
        from nebsign.gate.readers import read_metrics

        require_extra("gates", f"nebsign release (the {self.kind} gate)")
        load_gates_policy(request.policy_path)
        paths = (
            (*request.staging_baseline, *request.staging_current)
            if self.kind == "staging"
            else request.canary_metrics
        )
        for name, raw in read_inputs(paths, self.kind):
            read_metrics(raw, name)

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.gate.files import gate_canary, gate_staging, load_gates_policy

        req = ctx.request
        policy = load_gates_policy(req.policy_path)
        if self.kind == "staging":
            run = gate_staging(
                req.staging_baseline, req.staging_current, policy, decided_at=ctx.decided_at
            )
        else:
            run = gate_canary(req.canary_metrics, policy, decided_at=ctx.decided_at, role="canary")
        result = run.result
        return StepResult(
            step=self.name,
            verdict=result.verdict.value,
            reason=f"{self.kind} gate {result.verdict.value.upper()}: {result.reason}",
            predicate_type=GATE_V1,
            predicate=run.predicate,
        )


STAGING = GateStep("staging")
CANARY = GateStep("canary")
