"""Hypothesis over the bundle, statement and policy parsers: exit 2, no traceback, never a pass."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing.sigassets import ARTIFACT_SHA, GOLDEN, golden_policy

from nebsign.attest import InvalidStatement, Statement
from nebsign.bundle import Bundle, InvalidBundle
from nebsign.cli import run
from nebsign.errors import InputError, NebsignError
from nebsign.policy.trust import InvalidPolicy, TrustPolicy
from nebsign.verify import verify_artifact

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORIGINAL = (GOLDEN / "artifact.bin.ed25519-a.sigstore.json").read_bytes()
ORIGINAL_BUNDLE = Bundle.from_json(ORIGINAL)
POLICY = golden_policy("policy-expired.toml")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


PATHS = _paths(json.loads(ORIGINAL))[1:]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _bundle_round_trips(bundle: Bundle) -> None:
    """What the parser accepted is a value: its JSON reads back as the same bundle."""
    again = Bundle.from_json(bundle.to_json())
    assert again == bundle
    assert again.to_json() == bundle.to_json()


@SETTINGS
@given(st.binary(max_size=2048))
def test_bundle_parser_on_arbitrary_bytes(raw: bytes) -> None:
    try:
        bundle = Bundle.from_json(raw)
    except InvalidBundle:
        return
    _bundle_round_trips(bundle)


@SETTINGS
@given(st.sampled_from(PATHS), json_values)
def test_mutated_bundle_never_passes(path: tuple[Any, ...], value: Any) -> None:
    raw = json.dumps(_replace(json.loads(ORIGINAL), path, value)).encode()
    try:
        bundle = Bundle.from_json(raw)
        verify_artifact(ARTIFACT_SHA, [bundle], POLICY, now=None)
    except NebsignError as exc:
        assert exc.exit_code in (1, 2)
        return
    # only a mutation that changes nothing signed may pass
    assert bundle.content == ORIGINAL_BUNDLE.content
    assert bundle.public_key_hint in (None, ORIGINAL_BUNDLE.public_key_hint)
    _bundle_round_trips(bundle)


@SETTINGS
@given(st.sampled_from(PATHS), json_values)
def test_mutated_bundle_parses_to_a_value_or_is_refused(path: tuple[Any, ...], value: Any) -> None:
    """Whatever a mutated bundle parses to round-trips; the parser refuses only InvalidBundle."""
    raw = json.dumps(_replace(json.loads(ORIGINAL), path, value)).encode()
    try:
        bundle = Bundle.from_json(raw)
    except InvalidBundle:
        return
    _bundle_round_trips(bundle)


STATEMENT = json.loads((GOLDEN / "sast.statement.json").read_bytes())
STATEMENT_PATHS = _paths(STATEMENT)[1:]


def _statement_round_trips(raw: bytes) -> None:
    try:
        statement = Statement.from_json(raw)
    except InvalidStatement:
        return
    # accepted: a value whose JSON reads back unchanged, with subjects to bind it to
    again = Statement.from_json(statement.to_json())
    assert again == statement and again.to_json() == statement.to_json()
    assert statement.subjects
    assert json.loads(raw)["predicateType"] == statement.predicate_type


@SETTINGS
@given(st.binary(max_size=1024) | json_values.map(lambda v: json.dumps(v).encode()))
def test_statement_parser(raw: bytes) -> None:
    _statement_round_trips(raw)


@SETTINGS
@given(st.sampled_from(STATEMENT_PATHS), json_values)
def test_mutated_statement_round_trips_or_is_refused(path: tuple[Any, ...], value: Any) -> None:
    _statement_round_trips(json.dumps(_replace(STATEMENT, path, value)).encode())


POLICY_TEXT = (GOLDEN / "policy-any-of.toml").read_text()


@SETTINGS
@given(st.integers(0, len(POLICY_TEXT) - 1), st.integers(0, 40), st.text(max_size=10))
def test_policy_parser_on_mutations(pos: int, cut: int, insert: str) -> None:
    text = POLICY_TEXT[:pos] + insert + POLICY_TEXT[pos + cut :]
    try:
        policy = TrustPolicy.from_toml(text.encode("utf-8", "surrogatepass"), GOLDEN)
    except InputError as exc:
        assert isinstance(exc, InvalidPolicy)
        return
    assert policy.groups  # a parsed policy always trusts someone


@SETTINGS
@given(st.binary(max_size=512))
def test_policy_parser_on_bytes(raw: bytes) -> None:
    try:
        policy = TrustPolicy.from_toml(raw, GOLDEN)
    except InvalidPolicy:
        return
    assert policy.groups  # a parsed policy always trusts someone


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, len(ORIGINAL) - 1), st.integers(1, 255))
def test_cli_on_corrupted_bundles(tmp_path_factory: Any, pos: int, mask: int) -> None:
    corrupted = bytearray(ORIGINAL)
    corrupted[pos] ^= mask
    path = Path(tmp_path_factory.mktemp("b")) / "b.json"
    path.write_bytes(bytes(corrupted))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["verify", str(GOLDEN / "artifact.bin"), "--bundle", str(path),
                    "--key", str(GOLDEN / "keys/ed25519-a.pub")])  # fmt: skip
    assert code in (1, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert err.getvalue().startswith("nebsign: error: ")


@SETTINGS
@given(st.integers(0, len(ORIGINAL) - 1), st.sampled_from(list(b'AZaz09+/="{}:,[]\\x')))
def test_fast_bundle_path_agrees_with_the_full_parser(pos: int, byte: int) -> None:
    """The fast path never accepts what the full parser would not, nor differently."""
    from nebsign.bundle import _fast_parse, _loads, _parse

    raw = ORIGINAL[:pos] + bytes([byte]) + ORIGINAL[pos + 1 :]
    fast = _fast_parse(raw)
    if fast is None:
        return
    assert fast == _parse(_loads(raw, "b"), raw, "b")


def test_fast_bundle_path_is_taken_for_what_we_write() -> None:
    from nebsign.bundle import _fast_parse
    from nebsign.keys import KeyKind, generate_key
    from nebsign.signing import sign_digest

    for kind in KeyKind:
        for i in range(20):
            raw = sign_digest(f"{i:064x}", generate_key(kind)).to_json()
            assert _fast_parse(raw) == Bundle.from_json(raw) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_cli_on_garbage_policies(tmp_path_factory: Any, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("p")) / "policy.toml"
    path.write_bytes(raw)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        bundle = str(GOLDEN / "artifact.bin.ed25519-a.sigstore.json")
        code = run(
            ["verify", str(GOLDEN / "artifact.bin"), "--bundle", bundle, "--policy", str(path)]
        )
    assert code == 2, err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert err.getvalue().startswith("nebsign: error: ")
