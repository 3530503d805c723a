"""``nebsign scan sast`` as one library call: policy, files, scanners, cache, verdict, outputs.

Named for what it does (it orchestrates a scan); "gate" is the rollout gates' word.
:func:`scan_sast` scans and judges; :func:`run_sast_scan` also writes the outputs
(SARIF, the manifest of the scanned files, a baseline, the signed statement).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from nebsign._internal.readlimit import read_bounded
from nebsign._internal.resources import data_path
from nebsign.baseline import MAX_BASELINE_BYTES, Baseline
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.manifest import FileEntry
from nebsign.outcome import ScanOutcome
from nebsign.policy import MAX_POLICY_BYTES
from nebsign.policy.sast import SastGateFailed, SastPolicy, SastVerdict
from nebsign.sast.cache import ResultCache, default_cache_dir
from nebsign.sast.gitattrs import attribute_hits
from nebsign.sast.runner import MAX_SOURCE_BYTES, run_scan
from nebsign.sast.staged import read_staged, staged_tree
from nebsign.sast.targets import build_scanners, collect_files, default_jobs, in_scope
from nebsign.verdict_files import VerdictOutputs, raise_unless_accepted, write_verdict_outputs

__all__ = [
    "SastScanResult",
    "ScanRequest",
    "ScanStats",
    "load_policy",
    "run_sast_scan",
    "scan_root",
    "scan_sast",
]


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """What to scan and how."""

    root: Path
    paths: tuple[Path, ...] = ()
    staged: bool = False
    policy_path: Path | None = None
    baseline_path: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    jobs: int = 0
    engine: str | None = None
    today: date | None = None


@dataclass(frozen=True, slots=True)
class ScanStats:
    """Not part of any verdict: how much work the cache saved."""

    cache_hits: int
    cache_misses: int
    cache_path: str | None


def load_policy(path: Path | None) -> SastPolicy:
    """The policy at *path*, or the bundled ``policies/default.toml``."""
    target = path if path is not None else data_path("policies") / "default.toml"
    return SastPolicy.from_toml(read_bounded(target, MAX_POLICY_BYTES, "policy"), str(target))


def _baseline(request: ScanRequest, policy: SastPolicy, root: Path) -> Baseline | None:
    if request.baseline_path is not None:
        raw = read_bounded(request.baseline_path, MAX_BASELINE_BYTES, "baseline")
        return Baseline.from_toml(raw, str(request.baseline_path))
    if not policy.baseline:
        return None
    if request.staged:
        # what is being committed: the staged baseline, not an unstaged edit of it
        staged = read_staged(root, policy.baseline, MAX_BASELINE_BYTES)
        return None if staged is None else Baseline.from_toml(staged, f"staged {policy.baseline}")
    candidate = root / policy.baseline
    if candidate.is_file():
        raw = read_bounded(candidate, MAX_BASELINE_BYTES, "baseline")
        return Baseline.from_toml(raw, policy.baseline)
    return None


def _entries(root: Path, paths: tuple[str, ...]) -> tuple[FileEntry, ...]:
    """Manifest entries (path, size, sha256) of files that were looked at and are not Python."""
    out = []
    for rel in paths:
        data = read_bounded(root / rel, MAX_SOURCE_BYTES, "file")
        out.append(FileEntry(rel, len(data), sha256_bytes(data), executable=True))
    return tuple(out)


def scan_sast(request: ScanRequest) -> tuple[SastVerdict, ScanStats]:
    """Scan, then judge by the policy. The verdict is returned, never raised."""
    policy = load_policy(request.policy_path)
    jobs = request.jobs or default_jobs()
    scanners = build_scanners(policy, data_path("policies"), jobs=jobs, engine=request.engine)
    for scanner in scanners:
        scanner.executable()  # a missing tool is exit 3 before any work
    cache = None
    if request.use_cache:
        cache = ResultCache(request.cache_dir or default_cache_dir())
    try:
        outcome: ScanOutcome
        not_python: tuple[str, ...] = ()
        if request.staged:
            only = [str(p) for p in request.paths]

            def select(path: str, head: bytes, executable: bool) -> bool:
                return in_scope(policy, path, head, executable)

            with staged_tree(request.root, only, select) as tree:
                attrs = attribute_hits(tree.repo, tree.files, cached=True)
                outcome = run_scan(
                    tree.root,
                    tree.files,
                    scanners,
                    cache=cache,
                    reason_required=policy.suppression_reason_required,
                    extra=attrs,
                )
            root = tree.repo
        else:
            root = request.root
            if not root.is_dir():
                raise InputError(f"scan root {root} is not a directory")
            collected = collect_files(root, request.paths or (root,), policy)
            not_python = collected.not_python
            outcome = run_scan(
                root,
                collected.files,
                scanners,
                cache=cache,
                reason_required=policy.suppression_reason_required,
                extra=attribute_hits(root, collected.files, cached=False),
            )
    finally:
        if cache is not None:
            cache.close()
    if not_python:
        outcome = replace(outcome, not_python=_entries(root, not_python))
    verdict = policy.evaluate(
        outcome, _baseline(request, policy, root), request.today or datetime.now(UTC).date()
    )
    stats = ScanStats(
        outcome.cache_hits, outcome.cache_misses, str(cache.path) if cache is not None else None
    )
    return verdict, stats


def _outside(path: Path, cwd: Path) -> bool:
    """True if *path* is a directory that does not lie below *cwd*."""
    if not path.is_dir():
        return False
    rel = os.path.relpath(os.path.abspath(path), cwd)
    return rel == ".." or rel.startswith(".." + os.sep)


def scan_root(
    paths: tuple[Path, ...], root: Path | None, *, staged: bool, cwd: Path
) -> tuple[Path, tuple[Path, ...]]:
    """The root findings are relative to, and the paths to scan below it.

    One directory outside *cwd* and no *root* is the root, as bandit and semgrep
    take it; relative working-tree paths are made absolute against *cwd* (staged
    paths stay as git names them).
    """
    if root is None and not staged and len(paths) == 1 and _outside(paths[0], cwd):
        return paths[0], ()
    if not staged:
        paths = tuple(p if p.is_absolute() else cwd / p for p in paths)
    return root or cwd, paths


@dataclass(frozen=True, slots=True)
class SastScanResult:
    """A scan's verdict, what the cache saved, and what the outputs wrote."""

    verdict: SastVerdict
    stats: ScanStats
    #: open findings the written baseline accepts (None: no baseline was written)
    accepted: int | None = None

    def raise_for_verdict(self) -> None:
        """:func:`~nebsign.verdict_files.raise_unless_accepted` with :class:`SastGateFailed`."""
        raise_unless_accepted(self.verdict, self.accepted, SastGateFailed)


def run_sast_scan(
    request: ScanRequest,
    outputs: VerdictOutputs | None = None,
    *,
    manifest_path: Path | None = None,
) -> SastScanResult:
    """``nebsign scan sast``: scan, judge, then write *outputs* and the manifest of
    the scanned files (*manifest_path*); the verdict is returned, never raised
    (:meth:`SastScanResult.raise_for_verdict`)."""
    from nebsign.sarif import sarif_bytes
    from nebsign.sast.verdict import sarif_log, statement

    outputs = outputs or VerdictOutputs()
    verdict, stats = scan_sast(request)
    accepted = write_verdict_outputs(
        outputs,
        verdict.findings,
        sarif=lambda: sarif_bytes(sarif_log(verdict)),
        statement=lambda: statement(verdict),
        also=[(manifest_path, verdict.outcome.manifest.to_json)],
    )
    return SastScanResult(verdict, stats, accepted)
