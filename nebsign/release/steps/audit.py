"""Release step: third-party audit coverage, drift and open findings against release.json."""

from __future__ import annotations

from nebsign.attest import AUDIT_V1, Subject
from nebsign.errors import InputError
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult

__all__ = ["STEP", "AuditStep"]


class AuditStep:
    """Runs when audit files are given: the release must ship exactly the audited bytes."""

    name = "audit"

    def applies(self, request: ReleaseRequest) -> bool:
        return bool(request.audits)

    def check(self, request: ReleaseRequest) -> None:
        from nebsign.audit.interface import load_audit
        from nebsign.audit.service import load_policy

        load_policy(request.policy_path)
        for path in request.audits:
            load_audit(path)

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.audit.report import predicate, subjects
        from nebsign.audit.service import check_audits, load_policy

        manifest_path = ctx.workdir / "release.json"
        manifest_path.write_bytes(ctx.manifest_bytes)
        result = check_audits(
            manifest_path,
            ctx.request.audits,
            load_policy(ctx.request.policy_path),
            root=ctx.payload,
        )
        verdict = result.verdict
        reason = verdict.reason()
        cov = verdict.coverage
        if cov is not None and cov.drifted:
            reason += "; drifted: " + ", ".join(d.path for d in cov.drifted[:3])
        if cov is not None and cov.uncovered:
            reason += "; uncovered: " + ", ".join(cov.uncovered[:3])
        try:
            scope = subjects(verdict)
        except InputError:
            scope = ()
        return StepResult(
            step=self.name,
            verdict="pass" if verdict.passed else "fail",
            reason=reason,
            predicate_type=AUDIT_V1,
            predicate=predicate(verdict),
            subjects=tuple(Subject(s.name, s.sha256) for s in scope),
        )


STEP = AuditStep()
