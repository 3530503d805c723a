"""Release step: DAST (crawl, passive and active probes) against the staging URL, when given."""

from __future__ import annotations

from nebsign.attest import DAST_V1
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult
from nebsign.release.steps._verdict import scan_result

__all__ = ["STEP", "DastStep"]


class DastStep:
    """Runs with ``--staging-url``: the release candidate as deployed on staging."""

    name = "dast"

    def applies(self, request: ReleaseRequest) -> bool:
        return request.staging_url is not None

    def check(self, request: ReleaseRequest) -> None:
        from nebsign._internal.extras import require_extra
        from nebsign.dast.gate import load_dast_policy

        require_extra("dast", "nebsign release --staging-url")

        load_dast_policy(request.policy_path)

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.dast.gate import DastRequest, scan_dast
        from nebsign.dast.report import predicate, subject

        req = ctx.request
        assert req.staging_url is not None
        verdict = scan_dast(
            DastRequest(target=req.staging_url, policy_path=req.policy_path, today=ctx.today)
        )
        return scan_result(self.name, verdict, DAST_V1, predicate(verdict), subject(verdict))


STEP = DastStep()
