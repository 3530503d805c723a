"""A gate from files: the policy, the metrics, the verdict, the predicate and what it is about.

:mod:`nebsign.gate.run` takes bytes and does no I/O; this module is the one path
from files to a signed-ready gate verdict, shared by ``nebsign gate`` and the
gate steps of ``nebsign release``: read the metrics files (bounded), load the
policy (the bundled default without one), judge, and build the GATE_V1
predicate whose inputs are named ``role:file-name``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal.readlimit import read_bounded
from nebsign.attest import Subject
from nebsign.digest import sha256_bytes
from nebsign.gate.model import GateFailed, GateInconclusive, GateKind, GateResult, Verdict
from nebsign.gate.policy import GatesPolicy

if TYPE_CHECKING:
    from nebsign.policy.trust_input import TrustInput

__all__ = [
    "GateRun",
    "RolloutTime",
    "check_rollout_files",
    "gate_canary",
    "gate_staging",
    "load_gates_policy",
    "read_inputs",
]


def load_gates_policy(path: Path | None) -> GatesPolicy:
    """The ``[gates]`` policy at *path*, or the bundled ``policies/default.toml``."""
    from nebsign._internal.resources import data_path
    from nebsign.gate.policy import parse_gates_policy
    from nebsign.policy import MAX_POLICY_BYTES

    target = path if path is not None else data_path("policies") / "default.toml"
    return parse_gates_policy(read_bounded(target, MAX_POLICY_BYTES, "policy"), f"policy {target}")


def read_inputs(paths: Sequence[Path], role: str) -> list[tuple[str, bytes]]:
    """(printable name, bytes) of each metrics file, read bounded (*role* names them in errors)."""
    from nebsign.gate.readers import MAX_METRICS_BYTES
    from nebsign.gate.series import printable

    return [
        (printable(str(p)), read_bounded(p, MAX_METRICS_BYTES, f"{role} metrics")) for p in paths
    ]


@dataclass(frozen=True, slots=True)
class GateRun:
    """One gate's verdict, its GATE_V1 predicate, and its inputs as ``(role:name, bytes)``."""

    result: GateResult
    predicate: dict[str, Any]
    inputs: tuple[tuple[str, bytes], ...]

    def subjects(self, manifest: Path | None = None) -> list[Subject]:
        """What a signed statement of this gate is about: the release manifest when
        given, else each metrics file (``gate-metrics:role:name`` and its SHA-256)."""
        if manifest is not None:
            from nebsign.verdict_files import manifest_subject

            return [manifest_subject(manifest)]
        return [Subject(f"gate-metrics:{r}", sha256_bytes(raw)) for r, raw in self.inputs]

    def raise_for_verdict(self, *, allow_inconclusive: bool = False) -> None:
        """FAIL is exit 1; so is INCONCLUSIVE (never a pass) unless *allow_inconclusive*."""
        gate = self.result.gate.value
        if self.result.verdict is Verdict.FAIL:
            raise GateFailed(f"{gate} gate FAIL: {self.result.reason}")
        if self.result.verdict is Verdict.INCONCLUSIVE and not allow_inconclusive:
            raise GateInconclusive(
                f"{gate} gate INCONCLUSIVE: {self.result.reason}",
                hint="never a pass; gather more data, or --allow-inconclusive",
            )


def _run(
    result: GateResult,
    policy: GatesPolicy,
    inputs: list[tuple[str, tuple[str, bytes]]],
    decided_at: datetime,
) -> GateRun:
    from nebsign.gate.report import predicate
    from nebsign.gate.run import tool_versions

    roles = tuple((f"{role}:{os.path.basename(name)}", raw) for role, (name, raw) in inputs)
    pred = predicate(
        result,
        policy_digest=policy.digest,
        inputs=roles,
        tools=tool_versions(),
        decided_at=decided_at,
    )
    return GateRun(result, pred, roles)


def gate_staging(
    baseline: Sequence[Path],
    current: Sequence[Path],
    policy: GatesPolicy,
    *,
    decided_at: datetime,
    fmt: str = "auto",
) -> GateRun:
    """The staging gate: each KPI's current runs against its baseline runs."""
    from nebsign.gate.run import run_staging

    base, cur = read_inputs(baseline, "baseline"), read_inputs(current, "current")
    result = run_staging(base, cur, policy, fmt)
    inputs = [("baseline", b) for b in base] + [("current", c) for c in cur]
    return _run(result, policy, inputs, decided_at)


def gate_canary(
    metrics: Sequence[Path],
    policy: GatesPolicy,
    kind: GateKind = GateKind.CANARY,
    *,
    decided_at: datetime,
    fmt: str = "auto",
    role: str = "metrics",
) -> GateRun:
    """The canary, regional or watch thresholds over the time series in *metrics*."""
    from nebsign.gate.run import run_canary

    inputs = read_inputs(metrics, role)
    result = run_canary(inputs, policy, kind, fmt)
    return _run(result, policy, [("metrics", i) for i in inputs], decided_at)


@dataclass(frozen=True, slots=True)
class RolloutTime:
    """How long since the signed canary gate, and the policy's limit."""

    elapsed: timedelta
    limit: timedelta


def check_rollout_files(
    manifest: Path,
    attestations: Sequence[Path],
    trust: TrustInput,
    *,
    policy_path: Path | None,
    now: datetime,
) -> RolloutTime:
    """``nebsign gate rollout``: verify each gate attestation (one signer *trust*
    names), then check from their signed times that global comes within the
    policy's ``[gates.rollout]`` limit of the passing canary gate
    (:class:`~nebsign.gate.rollout.RolloutTooSlow` otherwise)."""
    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.gate.rollout import check_rollout
    from nebsign.manifest import MAX_MANIFEST_BYTES
    from nebsign.policy.trust_input import load_trust_policy
    from nebsign.verify import verify_attestation

    signers = load_trust_policy(trust, threshold_applies=False)
    sha = sha256_bytes(read_bounded(manifest, MAX_MANIFEST_BYTES, "release manifest"))
    statements = [
        verify_attestation(
            Bundle.from_json(read_bounded(a, MAX_BUNDLE_BYTES, "attestation")), signers
        )
        for a in attestations
    ]
    limit = timedelta(hours=float(load_gates_policy(policy_path).rollout_hours))
    return RolloutTime(check_rollout(statements, sha, now=now, limit=limit), limit)
