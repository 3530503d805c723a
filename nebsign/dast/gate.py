"""``scan dast`` as one library call: policy + options -> scan -> verdict (never raised).

:func:`scan_dast` scans and judges; :func:`run_dast_scan` also links the findings
to a SAST result and writes the outputs (SARIF, a baseline, the signed statement).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nebsign._internal.readlimit import read_bounded
from nebsign._internal.resources import data_path
from nebsign.attest import Subject
from nebsign.baseline import MAX_BASELINE_BYTES, Baseline
from nebsign.dast.engine import EngineLimits
from nebsign.dast.policy import DastGateFailed, DastPolicy, DastVerdict
from nebsign.dast.scan import ScanConfig, run_scan
from nebsign.policy import MAX_POLICY_BYTES
from nebsign.verdict_files import (
    VerdictOutputs,
    manifest_subject,
    raise_unless_accepted,
    write_verdict_outputs,
)

__all__ = [
    "DastRequest",
    "DastScanResult",
    "Progress",
    "load_dast_policy",
    "openapi_input",
    "run_dast_scan",
    "scan_dast",
]


@dataclass(frozen=True, slots=True)
class DastRequest:
    """Options of one scan; None means "the policy's value"."""

    target: str
    scope_extra: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    max_requests: int | None = None
    time_budget: float | None = None
    concurrency: int | None = None
    rate: float | None = None
    timeout: float | None = None
    max_pages: int | None = None
    max_body: int = 2 * 1024 * 1024
    openapi: bytes | None = None
    openapi_url: str | None = None
    browser: bool = False
    policy_path: Path | None = None
    baseline_path: Path | None = None
    today: date | None = None
    auth_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth_cookies: Mapping[str, str] = field(default_factory=dict, repr=False)


def load_dast_policy(path: Path | None) -> DastPolicy:
    target = path if path is not None else data_path("policies") / "default.toml"
    return DastPolicy.from_toml(read_bounded(target, MAX_POLICY_BYTES, "policy"), str(target))


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def scan_dast(request: DastRequest, on_request: Callable[[], None] | None = None) -> DastVerdict:
    """Scan the target and judge it by the policy; the verdict is returned, never raised."""
    policy = load_dast_policy(request.policy_path)
    baseline = None
    if request.baseline_path is not None:
        raw = read_bounded(request.baseline_path, MAX_BASELINE_BYTES, "baseline")
        baseline = Baseline.from_toml(raw, str(request.baseline_path))
    elif policy.baseline and Path(policy.baseline).is_file():
        raw = read_bounded(policy.baseline, MAX_BASELINE_BYTES, "baseline")
        baseline = Baseline.from_toml(raw, policy.baseline)
    limits = EngineLimits(
        concurrency=int(_pick(request.concurrency, policy.concurrency)),
        rate=_pick(request.rate, policy.rate),
        timeout=_pick(request.timeout, policy.timeout),
        max_body=request.max_body,
        max_requests=int(_pick(request.max_requests, policy.max_requests)),
        time_budget=_pick(request.time_budget, policy.time_budget),
    )
    config = ScanConfig(
        target=request.target,
        scope_extra=request.scope_extra,
        prefixes=request.prefixes,
        exclude=tuple(dict.fromkeys(policy.exclude + request.exclude)),
        methods=request.methods,
        limits=limits,
        max_pages=int(_pick(request.max_pages, policy.max_pages)),
        checks=request.checks if request.checks is not None else policy.checks,
        openapi=request.openapi,
        openapi_url=request.openapi_url,
        browser=request.browser,
        auth_headers=request.auth_headers,
        auth_cookies=request.auth_cookies,
    )
    outcome = run_scan(config, on_request)
    return policy.evaluate(outcome, baseline, request.today or date.today())


def openapi_input(value: str | None) -> tuple[bytes | None, str | None]:
    """``--openapi``: a URL (fetched in scope during the scan) or a file read now."""
    if value is None:
        return None, None
    if value.startswith(("http://", "https://")):
        return None, value
    from nebsign.dast.openapi import MAX_SPEC_BYTES

    return read_bounded(value, MAX_SPEC_BYTES, "OpenAPI document"), None


def _budget(request: DastRequest) -> int:
    """How many requests the scan may make (for a progress bar)."""
    if request.max_requests is not None:
        return request.max_requests
    return load_dast_policy(request.policy_path).max_requests


#: a progress display: given the request budget, a context yielding ``advance(n)``
Progress = Callable[[int], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True, slots=True)
class DastScanResult:
    """A scan's verdict, the release manifest it is about, and what the outputs wrote."""

    verdict: DastVerdict
    #: the release manifest named by ``subject_manifest`` (None: the target is the subject)
    manifest: Subject | None = None
    #: open findings the written baseline accepts (None: no baseline was written)
    accepted: int | None = None

    def raise_for_verdict(self) -> None:
        """:func:`~nebsign.verdict_files.raise_unless_accepted` with :class:`DastGateFailed`."""
        raise_unless_accepted(self.verdict, self.accepted, DastGateFailed)


def run_dast_scan(
    request: DastRequest,
    outputs: VerdictOutputs | None = None,
    *,
    subject_manifest: Path | None = None,
    sast_result: Path | None = None,
    source_root: Path | None = None,
    progress: Progress | None = None,
) -> DastScanResult:
    """``nebsign scan dast``: scan, judge, link findings proven by a SAST result too
    (*sast_result*, paths relative to *source_root*, default the current directory),
    then write *outputs*; the statement is about *subject_manifest* when given.
    *progress* is shown while requests are made, and closed before any output is
    written (signing may ask for a passphrase). The verdict is returned, never
    raised (:meth:`DastScanResult.raise_for_verdict`)."""
    from nebsign.dast.report import sarif_log, statement
    from nebsign.sarif import sarif_bytes

    outputs = outputs or VerdictOutputs()
    manifest = manifest_subject(subject_manifest) if subject_manifest is not None else None
    if progress is None:
        verdict = scan_dast(request)
    else:
        with progress(_budget(request)) as advance:
            verdict = scan_dast(request, on_request=lambda: advance(1))
    if sast_result is not None:
        from nebsign.dast.correlate import correlate_verdict

        verdict = correlate_verdict(verdict, sast_result, source_root or Path.cwd())
    accepted = write_verdict_outputs(
        outputs,
        verdict.findings,
        sarif=lambda: sarif_bytes(sarif_log(verdict)),
        statement=lambda: statement(verdict, manifest),
    )
    return DastScanResult(verdict, manifest, accepted)
