"""``scan dast`` as one library call: policy + options -> scan -> verdict (never raised)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nebsign._internal.readlimit import read_bounded
from nebsign._internal.resources import data_path
from nebsign.dast.engine import EngineLimits
from nebsign.dast.policy import DastPolicy, DastVerdict
from nebsign.dast.scan import ScanConfig, run_scan
from nebsign.policy import MAX_POLICY_BYTES
from nebsign.sast.baseline import MAX_BASELINE_BYTES, Baseline

__all__ = ["DastRequest", "load_dast_policy", "scan_dast"]


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
