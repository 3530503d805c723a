"""Issue 17.4: fuzz every parser of untrusted input and every output format.

For mutated bundles (key-based and with a log entry), statements, manifests,
trust policies and checksum files, the only outcomes allowed are a value or a
:class:`~nebsign.errors.NebsignError` with exit code 1 or 2, whose one-line
diagnostics encode as UTF-8 and whose JSON report serializes as strict JSON.
Mutations are both byte-level and JSON-aware (hostile values swapped into
real documents: lone surrogates, huge numbers, deep nesting, wrong types).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing.sigassets import ARTIFACT_SHA, GOLDEN

from nebsign.attest import Statement
from nebsign.bundle import Bundle
from nebsign.checksums import parse_checksums
from nebsign.errors import NebsignError
from nebsign.keys import load_public_key
from nebsign.manifest import Manifest
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import verify_artifact, verify_attestation

KEYS = TrustPolicy.from_keys(
    [load_public_key((GOLDEN / f"keys/{n}.pub").read_bytes()) for n in ("ed25519-a", "p256-a")]
)
TLOG_POLICY = TrustPolicy.from_toml((GOLDEN / "policy-tlog.toml").read_bytes(), GOLDEN)
SEEDS = {
    "artifact": (GOLDEN / "artifact.bin.p256-a.sigstore.json").read_bytes(),
    "tlog": (GOLDEN / "artifact.bin.tlog.sigstore.json").read_bytes(),
    "dsse": (GOLDEN / "sast.sigstore.json").read_bytes(),
    "statement": (GOLDEN / "sast.statement.json").read_bytes(),
    "manifest": (GOLDEN / "release.json").read_bytes(),
    "policy": (GOLDEN / "policy-any-of.toml").read_bytes(),
}
HOSTILE: list[Any] = [
    "\udc80", "\ud800x", "\u202e", "a\nb", "", 1e308, -0.0, 2**64, -1, True, None, [], {},
    [[[[[[[[[[[]]]]]]]]]]], {"a": {"b": {"c": {}}}}, "A" * 5000, "sha256:" + "0" * 64,
]  # fmt: skip


def _check_error(exc: NebsignError) -> None:
    assert exc.exit_code in (1, 2), (type(exc).__name__, exc.exit_code, exc.diagnostics()[:200])
    line = exc.diagnostics()
    line.encode("utf-8")
    assert "\n" not in line
    json.dumps({"error": line, "exit_code": exc.exit_code}, allow_nan=False).encode("utf-8")


def _report(value: object) -> None:
    """What --format json would print about a success must be strict JSON."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _run(kind: str, raw: bytes) -> None:
    try:
        if kind in ("artifact", "tlog"):
            bundle = Bundle.from_json(raw)
            policy = TLOG_POLICY if kind == "tlog" else KEYS
            verified = verify_artifact(ARTIFACT_SHA, [bundle], policy)
            _report({"signers": list(verified.signers), "hint": bundle.public_key_hint})
        elif kind == "dsse":
            statement = verify_attestation(Bundle.from_json(raw), KEYS)
            _report(statement.to_dict())
        elif kind == "statement":
            _report(Statement.from_json(raw).to_dict())
        elif kind == "manifest":
            manifest = Manifest.from_json(raw)
            _report([f.path for f in manifest.files])
        elif kind == "policy":
            TrustPolicy.from_toml(raw, GOLDEN)
        else:
            _report([(c.name.decode("utf-8", "replace"), c.sha256) for c in parse_checksums(raw)])
    except NebsignError as exc:
        _check_error(exc)


def _mutate_json(doc: Any, path: list[int], value: Any) -> Any:
    """Replace the node chosen by *path* (indices into dict values / list items) with *value*."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    items = list(doc.items()) if isinstance(doc, dict) else list(enumerate(doc))
    key, child = items[path[0] % len(items)]
    new = _mutate_json(child, path[1:], value)
    if isinstance(doc, dict):
        return {**doc, key: new}
    return [new if i == key else c for i, c in enumerate(doc)]


KINDS = ["artifact", "tlog", "dsse", "statement", "manifest"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    path=st.lists(st.integers(0, 50), max_size=6),
    value=st.sampled_from(HOSTILE),
)
def test_json_aware_mutations(kind: str, path: list[int], value: Any) -> None:
    doc = json.loads(SEEDS[kind])
    mutated = _mutate_json(doc, path, value)
    raw = json.dumps(mutated, separators=(",", ":"), sort_keys=True).encode(
        "utf-8", "surrogatepass"
    )
    _run(kind, raw.replace(b"\xed\xb2\x80", b"\\udc80").replace(b"\xed\xa0\x80", b"\\ud800"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([*KINDS, "policy", "checksums"]),
    at=st.integers(0, 10_000),
    cut=st.integers(0, 8),
    insert=st.binary(max_size=12)
    | st.sampled_from([b"\\udc80", b"1e999", b"\xff", b"[" * 100, b'"', b"\x00", b"\\"]),
)
def test_byte_mutations(kind: str, at: int, cut: int, insert: bytes) -> None:
    seed = SEEDS.get(kind) or f"{ARTIFACT_SHA}  artifact.bin\n".encode() * 3
    pos = at % (len(seed) + 1)
    _run(kind, seed[:pos] + insert + seed[pos + cut :])
