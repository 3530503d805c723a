"""Release steps: SAST (bandit + semgrep under the policy) on what ships, and on the source.

``sast`` scans the staged payload, the very bytes release.json lists, so its
``scanned`` table covers the release's Python and executable files path for
path (what hosts require of a SAST verdict, see :mod:`nebsign.scancoverage`).
``sast-source`` also scans SRC_DIR when it is another directory than BUILD_DIR
(code that shapes the build but does not ship); both gate the release.
"""

from __future__ import annotations

from pathlib import Path

from nebsign.attest import SAST_V1, Subject
from nebsign.release.model import ReleaseContext, ReleaseRequest, StepResult
from nebsign.release.steps._verdict import scan_result

__all__ = ["SOURCE", "STEP", "SastStep"]


class SastStep:
    """``sast`` always runs (on the payload); ``sast-source`` when SRC_DIR is elsewhere."""

    def __init__(self, *, source: bool) -> None:
        self.source = source
        self.name = "sast-source" if source else "sast"
        self.skip_reason = "SRC_DIR is BUILD_DIR (scanned as the payload)"

    def applies(self, request: ReleaseRequest) -> bool:
        if not self.source:
            return True
        return request.src_dir.resolve() != request.build_dir.resolve()

    def check(self, request: ReleaseRequest) -> None:
        from nebsign._internal.extras import require_extra
        from nebsign.sast.scan import load_policy

        require_extra("scan", "nebsign release (SAST)")

        load_policy(request.policy_path)  # a malformed [sast] table is exit 2 before any work

    def run(self, ctx: ReleaseContext) -> StepResult:
        from nebsign.sast.scan import ScanRequest, scan_sast
        from nebsign.sast.verdict import predicate, subject

        req = ctx.request
        root: Path = req.src_dir if self.source else ctx.payload
        verdict, _ = scan_sast(
            ScanRequest(
                root=root,
                policy_path=req.policy_path,
                baseline_path=req.sast_baseline,
                cache_dir=req.sast_cache,
                use_cache=req.use_sast_cache,
                today=ctx.today,
            )
        )
        scanned = subject(verdict)
        return scan_result(
            self.name,
            verdict,
            SAST_V1,
            predicate(verdict),
            Subject(scanned["name"], scanned["digest"]["sha256"]),
        )


STEP = SastStep(source=False)
SOURCE = SastStep(source=True)
