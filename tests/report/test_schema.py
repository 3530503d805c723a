"""report.json: the published schema, its parser, and the validator held to jsonschema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import assert_one_line_error, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report import reportkit as kit

from nebsign.errors import InputError
from nebsign.keys import PrivateKey
from nebsign.policy.trust import TrustPolicy
from nebsign.report.evidence import load_release
from nebsign.report.model import build_report
from nebsign.report.publish import _statement
from nebsign.report.render import render_all
from nebsign.report.schema import InvalidReport, parse_report, report_schema
from nebsign.signing import sign_statement


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory, key: PrivateKey) -> dict[str, Any]:
    rel = kit.make_release(tmp_path_factory.mktemp("s") / "rel", key, kit.all_types())
    previous = build_report(load_release(rel, TrustPolicy.from_keys([key.public_key()])))
    built = build_report(
        load_release(rel, TrustPolicy.from_keys([key.public_key()])), previous=previous
    )
    return parse_report(render_all(built)["report.json"])


def test_report_json_follows_the_published_schema(doc: dict[str, Any]) -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert doc["changes"] is not None and len(doc["trend"]) == 2


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += _paths(v, (*prefix, i))
    return out


_VALIDATOR = jsonschema.Draft202012Validator(report_schema())
REPLACEMENTS = st.sampled_from([None, 0, -1, 1.5, True, "", "x" * 70000, [], {}, {"k": 1}, ["a"]])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_validator_agrees_with_jsonschema(doc: dict[str, Any], data: st.DataObject) -> None:
    mutated = copy.deepcopy(doc)
    path = data.draw(st.sampled_from(_paths(mutated)[1:]))
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent["unexpected"] = 1
    else:
        parent[path[-1]] = data.draw(REPLACEMENTS)
    expected = _VALIDATOR.is_valid(mutated)
    raw = json.dumps(mutated).encode()
    try:
        parsed = parse_report(raw)
    except InvalidReport:
        assert not expected, (path, action)
    else:
        assert expected, (path, action)
        render_all(parsed)  # whatever the schema admits renders


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_parse_report_rejects_garbage_cleanly(raw: bytes) -> None:
    with pytest.raises(InputError):
        parse_report(raw)


def test_signed_but_malformed_report_json_exits_2(
    tmp_path: Path, key: PrivateKey, policy_file: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    files = {"index.html": b"<p>x</p>", "report.md": b"x", "report.json": b'{"schema": 1}'}
    for name, data in files.items():
        (out / name).write_bytes(data)
    statement, _ = _statement(
        files,
        {
            "schema": "s",
            "generator": "g",
            "release": {
                "name": None,
                "version": None,
                "manifest_sha256": "0" * 64,
                "policy_digest": None,
            },
            "evidence": [],
            "summary": {"open": 0, "accepted": 0, "fixed": 0, "total": 0},
            "changes": None,
        },
    )
    (out / "report.json.sigstore.json").write_bytes(sign_statement(statement, key).to_json())
    result = run_cli("report", "verify", str(out), "--policy", str(policy_file))
    assert_one_line_error(result, 2)
    assert "report.json" in result.stderr
