"""Demo step: the staging and canary gates on the bundled sample metrics; a signed gate result.

Uses ``signing_key`` and ``manifest_path`` from earlier steps when present
(else a fresh key and the metrics themselves as the subject); leaves
``gate_attestation_path`` in ``ctx.values``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from nebsign._internal.atomic import atomic_write
from nebsign._internal.resources import data_path
from nebsign.attest import Subject
from nebsign.digest import sha256_bytes
from nebsign.gate.model import GateResult, Verdict
from nebsign.gate.policy import parse_gates_policy, percent
from nebsign.gate.report import predicate, statement
from nebsign.gate.run import run_canary, run_staging, tool_versions
from nebsign.keys import generate_key
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_statement
from nebsign.verify import verify_attestation

from . import DemoContext

TITLE = "Rollout gates: staging KPIs vs baseline, canary thresholds, signed verdicts"


def _line(result: GateResult) -> str:
    if result.verdict is Verdict.PASS:
        return f"PASS: {result.reason}"
    return f"{result.verdict.value.upper()}, refused (exit 1): {result.reason}"


def run(ctx: DemoContext) -> Iterator[str]:
    metrics = ctx.examples / "metrics"
    policy = parse_gates_policy((data_path("policies") / "default.toml").read_bytes())
    tol = percent(policy.staging.tolerance)

    def load(name: str) -> tuple[str, bytes]:
        return name, (metrics / name).read_bytes()

    base = load("staging-baseline.json")
    for name in ("staging-current-pass.json", "staging-current-fail.json"):
        result = run_staging([base], [load(name)], policy)
        runs = dict(result.metrics[0].samples)
        yield (
            f"staging {name} ({runs['current']} runs vs {runs['baseline']}, tolerance {tol}): "
            + _line(result)
        )

    key = ctx.values.get("signing_key") or generate_key()
    manifest = ctx.values.get("manifest_path")
    for name in ("canary-pass.om", "canary-fail.om"):
        inputs = [load(name)]
        result = run_canary(inputs, policy)
        window = result.window
        hours = f"{window.seconds / 3600:.2f} h" if window else "no window"
        yield f"canary {name} ({hours} of samples): {_line(result)}"
        if result.verdict is not Verdict.PASS:
            continue
        for row in result.metrics[1:]:
            yield f"  {row.name}: {row.detail}"
        pred = predicate(
            result,
            policy_digest=policy.digest,
            inputs=[("metrics", raw) for _, raw in inputs],
            tools=tool_versions(),
            decided_at=datetime.now(UTC).replace(microsecond=0),
        )
        if manifest is not None:
            subjects = [Subject(manifest.name, sha256_bytes(manifest.read_bytes()))]
        else:
            subjects = [Subject(f"gate-metrics:{name}", sha256_bytes(inputs[0][1]))]
        bundle = sign_statement(statement(pred, subjects), key)
        out = ctx.workdir / "canary-gate.sigstore.json"
        atomic_write(out, bundle.to_json())
        ctx.values["gate_attestation_path"] = out
        verified = verify_attestation(bundle, TrustPolicy.from_keys([key.public_key()]))
        yield (
            f"signed canary gate ({verified.predicate['verdict']}, decided "
            f"{verified.predicate['decided_at']}) about {subjects[0].name}: verified"
        )
