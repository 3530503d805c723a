"""Release step: SAST (bandit + semgrep under the policy) on the source directory."""

from __future__ import annotations

from nebsign.attest import SAST_V1, Subject
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult

__all__ = ["STEP", "SastStep"]


class SastStep:
    """Always runs: a release without a SAST verdict is not a release."""

    name = "sast"

    def applies(self, request: ReleaseRequest) -> bool:
        return True

    def check(self, request: ReleaseRequest) -> None:
        from nebsign.sast.gate import load_policy

        load_policy(request.policy_path)  # a malformed [sast] table is exit 2 before any work

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.findings import Finding
        from nebsign.sast.gate import ScanRequest, scan_sast
        from nebsign.sast.report import predicate, subject

        req = ctx.request
        verdict, _ = scan_sast(
            ScanRequest(
                root=req.src_dir,
                policy_path=req.policy_path,
                baseline_path=req.sast_baseline,
                cache_dir=req.sast_cache,
                use_cache=req.use_sast_cache,
                today=ctx.today,
            )
        )
        reason = verdict.reason()
        if verdict.failing:
            first = sorted(verdict.failing, key=Finding.sort_key)[0]
            reason += f"; first: {first.location} {first.rule_id} ({first.title})"
        scanned = subject(verdict)
        return StepResult(
            step=self.name,
            verdict="pass" if verdict.passed else "fail",
            reason=reason,
            predicate_type=SAST_V1,
            predicate=predicate(verdict),
            subjects=(Subject(scanned["name"], scanned["digest"]["sha256"]),),
        )


STEP = SastStep()
