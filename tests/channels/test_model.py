"""The channel statement parser: canonical only, bounded, typed (hypothesis included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.channels.model import (
    MAX_CHANNEL_BYTES,
    ChannelStatement,
    Evidence,
    InvalidChannelStatement,
    Phase,
    phase_of,
)
from nebsign.errors import InputError

T = datetime(2026, 11, 30, 12, tzinfo=UTC)


def sample(**kw: Any) -> ChannelStatement:
    fields: dict[str, Any] = {
        "channel": "regional-eu",
        "phase": Phase.REGIONAL,
        "release": "exchange-api",
        "version": "1.4.3",
        "manifest_sha256": "a" * 64,
        "path": "releases/exchange-api/1.4.3",
        "sequence": 7,
        "issued_at": T,
        "expires": T + timedelta(days=7),
        "rollback": False,
        "evidence": (Evidence("canary", "b" * 64),),
    }
    fields.update(kw)
    return ChannelStatement(**fields)


def test_round_trip_is_byte_stable() -> None:
    raw = sample().to_json()
    assert ChannelStatement.from_json(raw) == sample()
    assert ChannelStatement.from_json(raw).to_json() == raw
    assert b'"manifest":"sha256:' + b"a" * 64 in raw


def test_only_the_canonical_form_is_accepted() -> None:
    obj = json.loads(sample().to_json())
    with pytest.raises(InvalidChannelStatement, match="canonical"):
        ChannelStatement.from_json(json.dumps(obj, indent=1).encode())
    dup = sample().to_json().replace(b'{"_type"', b'{"sequence":99,"_type"', 1)
    with pytest.raises(InvalidChannelStatement):
        ChannelStatement.from_json(dup)


def test_size_limit() -> None:
    with pytest.raises(InvalidChannelStatement, match="exceeds"):
        ChannelStatement.from_json(b" " * (MAX_CHANNEL_BYTES + 1))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("sequence", 0, "sequence"),
        ("sequence", True, "sequence"),
        ("sequence", 2**53, "sequence"),
        ("sequence", 1.5, "sequence"),
        ("channel", "Global", "channel name"),
        ("channel", "../x", "channel name"),
        ("path", "/etc", "path"),
        ("path", "a/../b", "path"),
        ("manifest", "sha256:" + "A" * 64, "manifest"),
        ("manifest", "a" * 64, "manifest"),
        ("version", "not a version", "version"),
        ("phase", "prod", "phase"),
        ("rollback", "yes", "rollback"),
        ("expires", "2026-11-30T12:00:00Z", "expires"),
        ("expires", "2026-11-30 13:00:00", "expires"),
        ("evidence", [{"gate": "canary", "sha256": "b" * 64}] * 2, "twice"),
        ("evidence", [{"gate": "canary"}], "evidence"),
        ("extra", 1, "unknown"),
    ],
)
def test_bad_fields_are_refused(key: str, value: object, match: str) -> None:
    obj = json.loads(sample().to_json())
    obj[key] = value
    with pytest.raises(InvalidChannelStatement, match=match):
        ChannelStatement.from_dict(obj)


def test_missing_field() -> None:
    obj = json.loads(sample().to_json())
    del obj["sequence"]
    with pytest.raises(InvalidChannelStatement, match="missing field 'sequence'"):
        ChannelStatement.from_dict(obj)


def test_phase_from_name() -> None:
    assert phase_of("regional-eu") is Phase.REGIONAL
    assert phase_of("global") is Phase.GLOBAL
    with pytest.raises(InputError, match="phase"):
        phase_of("prod")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    try:
        parsed = ChannelStatement.from_json(raw)
    except InputError:
        return
    assert parsed.to_json() == raw


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(json.loads(sample().to_json()))), _json)
def test_any_field_value_parses_to_a_valid_statement_or_is_refused(key: str, value: object) -> None:
    obj = json.loads(sample().to_json())
    obj[key] = value
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        parsed = ChannelStatement.from_json(raw)
    except InputError:
        return
    assert 1 <= parsed.sequence < 2**53
    assert parsed.expires > parsed.issued_at
    assert ChannelStatement.from_json(parsed.to_json()) == parsed
