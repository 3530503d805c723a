"""Values of the release pipeline: the request, the step interface, results, the outcome.

A step is a small object with a ``name``, ``applies(request)``,
``check(request)`` (parse its inputs up front, so a malformed metrics file is
exit 2 before a minute of scanning) and ``run(ctx) -> StepResult``. It judges
one thing (SAST, DAST, an audit, a gate) and returns its verdict with the
predicate to sign; it never writes the release directory and never signs (the
pipeline does both, so every result is attested the same way). Steps register
by module in :data:`nebsign.release.steps.STEPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from nebsign.attest import Subject
from nebsign.errors import VerdictError
from nebsign.manifest import Manifest

__all__ = [
    "ReleaseContext",
    "ReleaseOutcome",
    "ReleaseRequest",
    "ReleaseStopped",
    "Step",
    "StepResult",
]


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    """Everything ``nebsign release`` is given (no secrets: the key is passed on its own)."""

    src_dir: Path
    build_dir: Path
    out_dir: Path
    name: str
    version: str
    expires: str
    #: policy TOML with [sast] and [gates] tables (None: the bundled default)
    policy_path: Path | None = None
    sast_baseline: Path | None = None
    sast_cache: Path | None = None
    use_sast_cache: bool = True
    staging_baseline: tuple[Path, ...] = ()
    staging_current: tuple[Path, ...] = ()
    canary_metrics: tuple[Path, ...] = ()
    #: third-party audit files (nebsign audit file, Slither JSON, SARIF, Markdown reports)
    audits: tuple[Path, ...] = ()
    staging_url: str | None = None
    #: capability-specific inputs of steps that plug in later (name -> value)
    extra: dict[str, Any] = field(default_factory=dict)
    keep_going: bool = False
    force: bool = False
    #: render and sign the public report into OUT/report/
    report: bool = True
    #: SOURCE_DATE_EPOCH as given, or None (then the clock)
    source_date_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class ReleaseContext:
    """What a step may read: the request, the release manifest and the pipeline's clock."""

    request: ReleaseRequest
    manifest: Manifest
    manifest_bytes: bytes
    #: the staged copy of BUILD_DIR that release.json describes (read-only for steps)
    payload: Path
    decided_at: datetime
    #: a scratch directory private to this run (removed afterwards)
    workdir: Path
    progress: Callable[[str], None]

    @property
    def manifest_digest(self) -> str:
        return self.manifest.digest()

    @property
    def today(self) -> date:
        return self.decided_at.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's verdict and what to sign about it."""

    step: str
    verdict: str  # "pass" | "fail" | "inconclusive"
    reason: str
    predicate_type: str
    predicate: dict[str, Any]
    #: subjects besides release.json (e.g. the manifest of the scanned files)
    subjects: tuple[Subject, ...] = ()
    #: file name under attestations/ (without .sigstore.json); default: the step name
    attestation_name: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "verdict": self.verdict,
            "reason": self.reason,
            "predicate_type": self.predicate_type,
            "attestation": f"attestations/{self.attestation_name or self.step}.sigstore.json",
        }


class Step(Protocol):
    """One check of the pipeline (see the module docstring)."""

    name: str

    def applies(self, request: ReleaseRequest) -> bool: ...

    def check(self, request: ReleaseRequest) -> None:
        """Parse this step's inputs before any step runs: bad input exits 2 before a scan."""

    def run(self, ctx: ReleaseContext) -> StepResult: ...


class ReleaseStopped(VerdictError):
    """A step of the release said no; nothing was published."""

    reason: ClassVar[str] = "release-stopped"


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    """The result of one ``nebsign release`` run."""

    name: str
    version: str
    manifest_sha256: str
    files: int
    steps: tuple[StepResult, ...]
    skipped: tuple[str, ...]
    published: Path | None
    layout: tuple[str, ...] = ()
    time_source: str = "clock"
    #: who signed: {"kind": "key", "key_id"} or {"kind": "sigstore", "identity", "issuer",
    #: "instance", "host_policy"} (what a host's trust policy must pin)
    signer: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(s.passed for s in self.steps)

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if not s.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "name": self.name,
            "version": self.version,
            "release_json_sha256": f"sha256:{self.manifest_sha256}",
            "files": self.files,
            "steps": [s.to_dict() for s in self.steps],
            "skipped": list(self.skipped),
            "failed": [s.step for s in self.failed],
            "published": None if self.published is None else str(self.published),
            "layout": list(self.layout),
            "time_source": self.time_source,
            "signer": dict(self.signer),
        }

    def raise_for_verdict(self) -> None:
        """Raise :class:`ReleaseStopped` naming the failing step(s), if any."""
        bad = self.failed
        if not bad:
            return
        first = bad[0]
        more = "" if len(bad) == 1 else f" (and {', '.join(s.step for s in bad[1:])})"
        raise ReleaseStopped(
            f"release stopped at {first.step}: {first.verdict.upper()}: {first.reason}{more}",
            hint="nothing was published; fix the finding, or --keep-going to see every step",
        )
