"""Demo step: the SAST gate passes the example release and refuses a vulnerable service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from nebsign.findings import Status
from nebsign.policy.sast import SastGateFailed, SastPolicy
from nebsign.sast.scan import ScanRequest, load_policy, scan_sast

from . import DemoContext

TITLE = "SAST gate: bandit + semgrep with nebsign's rules, judged by policy"


def run(ctx: DemoContext) -> Iterator[str]:
    cache = ctx.workdir / "sast-cache"
    release = ctx.values.get("release_dir", ctx.examples / "release")
    app = Path(release) / "app"
    verdict, _ = scan_sast(ScanRequest(root=app, cache_dir=cache))
    tools = ", ".join(f"{k} {v}" for k, v in sorted(verdict.outcome.tools.items()))
    yield f"scanned {len(verdict.outcome.files)} files of the release's app/ ({tools})"
    shown = [f for f in verdict.findings if f.status is Status.OPEN]
    for f in shown:
        yield f"  {f.properties['level']:<4} {f.location}  {f.rule_id}: {f.title}"
    word = "PASS" if verdict.passed else "FAIL"
    yield f"  verdict: {word} (policy {verdict.policy_digest[:19]}...)"
    ctx.values["sast_verdict"] = verdict

    vulnerable = ctx.examples / "vulnerable"
    verdict, stats = scan_sast(ScanRequest(root=vulnerable, cache_dir=cache))
    yield f"scanned examples/vulnerable ({len(verdict.outcome.files)} files):"
    for f in sorted(verdict.failing, key=lambda f: (-f.severity.rank, f.sort_key())):
        also = f.properties.get("also_reported_by") or []
        extra = f" (also bandit {also[0]['rule_id']})" if also else ""
        yield f"  {f.severity.value:<8} {f.location}  {f.rule_id}{extra}"
    suppressed = len(verdict.outcome.suppressed)
    yield f"  inline suppressions counted: {suppressed}"
    policy: SastPolicy = load_policy(None)
    try:
        policy.verify(verdict)
    except SastGateFailed as exc:
        yield f"  refused (exit 1): {exc.message}"
    else:  # pragma: no cover - the example is vulnerable on purpose
        raise AssertionError("the vulnerable example passed the SAST gate")
    again, stats = scan_sast(ScanRequest(root=vulnerable, cache_dir=cache))
    same = again.findings == verdict.findings
    yield (
        f"re-scan from the cache: {stats.cache_hits} results reused, "
        f"{stats.cache_misses} re-run, identical findings: {same}"
    )
