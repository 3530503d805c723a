"""Property tests: the agent's parsers of untrusted input never crash and never pass garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nebsign.agent.source import parse_index
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


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400))
def test_index_bytes(raw: bytes) -> None:
    try:
        parse_index(raw)
    except InputError as exc:
        assert exc.exit_code == 2


@settings(max_examples=150, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["signatures", "attestations", "x"]), json_values))
def test_index_objects(obj: dict[str, object]) -> None:
    try:
        listing = parse_index(json.dumps(obj).encode())
    except InputError:
        return
    for name in (*listing.signatures, *listing.attestations):
        assert name.endswith(".sigstore.json") and not name.startswith("/")
        assert ".." not in name.split("/")


def test_index_refuses_escapes() -> None:
    for bad in ("../x.sigstore.json", "/etc/x.sigstore.json", "a//b.sigstore.json", "x.json"):
        with pytest.raises(InputError):
            parse_index(json.dumps({"signatures": [bad]}).encode())


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400))
def test_state_bytes(raw: bytes) -> None:
    try:
        AgentState.from_json(raw)
    except InputError as exc:
        assert exc.exit_code == 2


@settings(max_examples=150, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["_type", "releases", "current", "log"]), json_values))
def test_state_objects(obj: dict[str, object]) -> None:
    obj.setdefault("_type", "https://nebsign.dev/agent-state/v1")
    try:
        AgentState.from_json(json.dumps(obj).encode())
    except InputError as exc:
        assert exc.exit_code == 2


def _no_trust(path: Path) -> tuple[object, bytes]:
    return object(), b""


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_host_policy_text(text: str) -> None:
    try:
        parse_host_policy(text.encode(), base_dir=Path("/nonexistent"), trust_loader=_no_trust)
    except InputError as exc:
        assert exc.exit_code == 2


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
