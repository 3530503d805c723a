"""Property tests: the agent's parsers of untrusted input never crash and never pass garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nebsign.agent.source import BundleList, parse_index
from nebsign.agent.state import AgentState
from nebsign.errors import InputError
from nebsign.policy.host import parse_host_policy

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=20,
)


def _check_listing(listing: BundleList) -> None:
    for name in (*listing.signatures, *listing.attestations):
        assert name.endswith(".sigstore.json") and not name.startswith("/")
        assert all(part not in ("", ".", "..") for part in name.split("/")), name


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400))
def test_index_bytes(raw: bytes) -> None:
    try:
        listing = parse_index(raw)
    except InputError as exc:
        assert exc.exit_code == 2
        return
    _check_listing(listing)


@settings(max_examples=150, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["signatures", "attestations", "x"]), json_values))
def test_index_objects(obj: dict[str, object]) -> None:
    try:
        listing = parse_index(json.dumps(obj).encode())
    except InputError:
        return
    _check_listing(listing)


def test_index_refuses_escapes() -> None:
    for bad in ("../x.sigstore.json", "/etc/x.sigstore.json", "a//b.sigstore.json", "x.json"):
        with pytest.raises(InputError):
            parse_index(json.dumps({"signatures": [bad]}).encode())


def _state_round_trips(raw: bytes) -> None:
    """Refused with exit 2, or a state the agent can write back and read as the same."""
    try:
        state = AgentState.from_json(raw)
    except InputError as exc:
        assert exc.exit_code == 2
        return
    again = AgentState.from_json(state.to_json())
    assert again == state and again.to_json() == state.to_json()
    for rec in state.releases:
        assert isinstance(rec.manifest_sha256, str) and len(rec.manifest_sha256) == 64
        assert rec.tree_sha256 is None or isinstance(rec.tree_sha256, str)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400))
def test_state_bytes(raw: bytes) -> None:
    _state_round_trips(raw)


@settings(max_examples=150, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["_type", "releases", "current", "log"]), json_values))
def test_state_objects(obj: dict[str, object]) -> None:
    obj.setdefault("_type", "https://nebsign.dev/agent-state/v1")
    _state_round_trips(json.dumps(obj).encode())


RECORD = {
    "version": "1.0.0",
    "name": "app",
    "manifest_sha256": "a" * 64,
    "signers": ["k"],
    "attestations": [],
    "installed_at": "2026-01-01T00:00:00Z",
    "tree_sha256": None,
}
_odd = st.sampled_from([int("1" * 64), 10**63, "A" * 64, "1.0", "01.0.0", "", None, True, []])


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(sorted(RECORD)),
    value=json_values | _odd,
    current=st.sampled_from([None, "1.0.0", "2.0.0", "x"]),
)
def test_state_with_a_corrupted_record(field: str, value: object, current: str | None) -> None:
    record = {**RECORD, field: value}
    obj = {"_type": "https://nebsign.dev/agent-state/v1", "releases": [record],
           "current": current, "highest": current, "log": None}  # fmt: skip
    _state_round_trips(json.dumps(obj).encode())


def _no_trust(path: Path) -> tuple[object, bytes]:
    return object(), b""


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_host_policy_text(text: str) -> None:
    try:
        policy = parse_host_policy(
            text.encode(), base_dir=Path("/nonexistent"), trust_loader=_no_trust
        )
    except InputError as exc:
        assert exc.exit_code == 2
        return
    assert isinstance(policy.keep, int) and policy.keep >= 2  # what every accepted policy holds


@settings(max_examples=200, deadline=None)
@example(keep=3, stall=float("nan"), hook=["/bin/true"], ptype="sast")
@example(keep=3, stall=float("inf"), hook=["/bin/true"], ptype="sast")
@example(keep=3, stall=0.5, hook=["true"], ptype="sast")
@example(keep=1, stall=0.5, hook=["/bin/true"], ptype="sast")
@given(
    keep=st.integers(-5, 10) | st.text(max_size=3),
    stall=st.integers(-5, 100) | st.floats(allow_nan=True) | st.booleans(),
    hook=st.lists(st.text(max_size=10), max_size=3) | st.text(max_size=5),
    ptype=st.text(max_size=30),
)
def test_host_policy_fields(keep: object, stall: object, hook: object, ptype: str) -> None:
    doc = {
        "root": "/var/lib/x",
        "trust_policy": "t.toml",
        "keep": keep,
        "limits": {"stall_seconds": stall},
        "hooks": {"health_check": hook},
        "require": [{"predicate_type": ptype, "verdict": "pass"}],
    }
    raw = "\n".join(
        [
            f"root = {json.dumps(doc['root'])}",
            f"trust_policy = {json.dumps(doc['trust_policy'])}",
            f"keep = {json.dumps(keep)}",
            "[limits]",
            f"stall_seconds = {_toml(stall)}",
            "[hooks]",
            f"health_check = {json.dumps(hook)}",
            "[[require]]",
            f"predicate_type = {json.dumps(ptype)}",
            'verdict = "pass"',
        ]
    )
    try:
        policy = parse_host_policy(raw.encode(), base_dir=Path("/x"), trust_loader=_no_trust)
    except InputError as exc:
        assert exc.exit_code == 2
        return
    assert isinstance(policy.keep, int) and policy.keep >= 2
    assert 0 < policy.limits.stall_seconds < float("inf")
    assert all(h.startswith("/") for h in policy.hooks.health_check[:1])
    assert all(r.predicate_type.startswith("https://") for r in policy.required)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
    return json.dumps(value)
