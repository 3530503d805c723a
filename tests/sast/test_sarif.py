"""SARIF 2.1.0 output: official schema, GitHub's required fields, stability."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import jsonschema
import pytest
from helpers import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st
from sast.sastkit import bandit, semgrep

from nebsign.errors import InputError
from nebsign.findings import findings_to_json
from nebsign.outcome import ScanOutcome
from nebsign.sarif import FINGERPRINT_KEY, from_sarif, sarif_bytes, to_sarif
from nebsign.sast.runner import run_scan

SCHEMA = json.loads((SHARED / "testdata" / "sarif" / "sarif-schema-2.1.0.json").read_text())


def _log(outcome: ScanOutcome) -> dict:
    return to_sarif(outcome.findings, tools=outcome.tools, driver_version="0.1.0")


def test_sarif_validates_against_the_official_schema(cases_outcome: ScanOutcome) -> None:
    log = _log(cases_outcome)
    jsonschema.validate(log, SCHEMA)
    assert log["runs"][0]["results"]


def test_sarif_has_every_field_github_requires(cases_outcome: ScanOutcome) -> None:
    log = json.loads(sarif_bytes(_log(cases_outcome)))
    assert len(log["runs"]) <= 20
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"]
    assert run["automationDetails"]["id"]
    rules = run["tool"]["driver"]["rules"]
    assert rules
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    for result in run["results"]:
        assert result["message"]["text"]
        assert result["level"] in {"error", "warning", "note"}
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] and not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1
        assert len(result["partialFingerprints"][FINGERPRINT_KEY]) == 64
        assert ids[result["ruleIndex"]] == result["ruleId"]
    assert len(run["results"]) <= 25_000
    extensions = {e["name"]: e["version"] for e in run["tool"]["extensions"]}
    assert extensions == {"bandit": "1.9.4", "semgrep": "1.185.0"}


def test_sarif_round_trips_findings(cases_outcome: ScanOutcome) -> None:
    raw = sarif_bytes(_log(cases_outcome))
    assert findings_to_json(from_sarif(raw)) == findings_to_json(cases_outcome.findings)


def test_sarif_fingerprints_unchanged_after_inserting_lines(tmp_path: Path) -> None:
    code = "import yaml\n\n\ndef load(t):\n    return yaml.load(t)\n"
    (tmp_path / "m.py").write_text(code)
    scanners = [bandit(), semgrep()]
    before = _log(run_scan(tmp_path, ["m.py"], scanners))
    (tmp_path / "m.py").write_text("import os\nimport sys\n\n# moved down\n" + code)
    after = _log(run_scan(tmp_path, ["m.py"], scanners))

    def prints(log: dict) -> dict:
        return {
            r["ruleId"]: (
                r["partialFingerprints"][FINGERPRINT_KEY],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in log["runs"][0]["results"]
        }

    b, a = prints(before), prints(after)
    assert set(a) == set(b) and a
    for rule in a:
        assert a[rule][0] == b[rule][0]
        assert a[rule][1] == b[rule][1] + 4


def test_sarif_is_byte_identical_for_equal_input(cases_outcome: ScanOutcome) -> None:
    assert sarif_bytes(_log(cases_outcome)) == sarif_bytes(_log(cases_outcome))


def test_foreign_sarif_with_absolute_path_is_refused() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x", "rules": []}},
                "results": [
                    {
                        "ruleId": "r",
                        "message": {"text": "m"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "/etc/passwd"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    with pytest.raises(InputError):
        from_sarif(json.dumps(log).encode())


def test_foreign_sarif_is_parsed() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "codeql",
                        "rules": [{"id": "py/sql", "shortDescription": {"text": "SQL"}}],
                    }
                },
                "results": [
                    {
                        "ruleId": "py/sql",
                        "level": "error",
                        "message": {"text": "m"},
                        "partialFingerprints": {"primaryLocationLineHash": "abc"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "a/b.py"},
                                    "region": {"startLine": 3},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (finding,) = from_sarif(json.dumps(log).encode())
    assert (finding.tool, finding.rule_id, finding.title) == ("codeql", "py/sql", "SQL")
    assert str(finding.location) == "a/b.py:3" and finding.fingerprint == "abc"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=6),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "runs",
                    "tool",
                    "driver",
                    "name",
                    "rules",
                    "results",
                    "ruleId",
                    "message",
                    "text",
                    "locations",
                    "physicalLocation",
                    "artifactLocation",
                    "uri",
                    "region",
                    "startLine",
                    "id",
                ]
            ),
            kids,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(doc=_json)
def test_untrusted_sarif_is_input_error_never_a_crash(doc: object) -> None:
    candidates = [
        doc,
        {"version": "2.1.0", "runs": doc},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [doc]}]},
    ]
    for candidate in candidates:
        with contextlib.suppress(InputError):
            from_sarif(json.dumps(candidate).encode())


def test_oversized_sarif_is_refused() -> None:
    from nebsign import sarif

    with pytest.raises(InputError):
        from_sarif(b" " * (sarif.MAX_SARIF_BYTES + 1))
