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
from nebsign.findings import Finding, findings_to_json
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


def _check_accepted(log: object, found: list[Finding]) -> None:
    """Invariants of anything ``from_sarif`` accepts, read off the input independently."""
    assert isinstance(log, dict)
    results = [
        (run["tool"]["driver"]["name"], res)
        for run in log["runs"]
        for res in run.get("results", [])
    ]
    assert len(found) == len(results)
    for finding, (tool, res) in zip(found, results, strict=True):
        loc = finding.location
        if "nebsign" in res.get("properties", {}):
            continue  # nebsign's own finding, parsed by Finding.from_dict (tested there)
        assert (finding.tool, finding.rule_id) == (tool, res["ruleId"])
        assert finding.message == res["message"]["text"]
        physical = res["locations"][0]["physicalLocation"]
        assert loc.path == physical["artifactLocation"]["uri"]
        assert loc.line == physical.get("region", {}).get("startLine")
        # a path from a foreign log is a normalized relative POSIX path: it never leaves
        # the source root (a backslash is an ordinary character of a POSIX name)
        parts = loc.path.split("/")
        assert all(p not in {"", ".", ".."} for p in parts), loc.path
        assert "\0" not in loc.path
    # what was accepted is a value: nebsign's SARIF of it reads back as the same findings
    again = from_sarif(sarif_bytes(to_sarif(found, tools={}, driver_version="0")))
    assert again == sorted(found, key=Finding.sort_key)


def _maybe(good: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Mostly the right shape, sometimes anything: each field is tried both ways."""
    return st.sampled_from([True] * 15 + [False]).flatmap(lambda ok: good if ok else _json)


_uri = st.sampled_from([True, False]).flatmap(
    lambda plain: (
        st.sampled_from(["a.py", "src/b.py", "a\\b", "x/y/z.py"])
        if plain
        else st.one_of(
            st.sampled_from(["../x.py", "/etc/passwd", "a/../../b", "", ".", "a//b", "a/"]),
            st.text(alphabet="ab./\\\0", max_size=8),
        )
    )
)
_result = st.fixed_dictionaries(
    {
        "ruleId": _maybe(st.text(max_size=6)),
        "message": _maybe(st.fixed_dictionaries({"text": _maybe(st.text(max_size=6))})),
        "locations": _maybe(
            st.lists(
                _maybe(
                    st.fixed_dictionaries(
                        {
                            "physicalLocation": _maybe(
                                st.fixed_dictionaries(
                                    {
                                        "artifactLocation": _maybe(
                                            st.fixed_dictionaries({"uri": _maybe(_uri)})
                                        ),
                                        "region": _maybe(
                                            st.fixed_dictionaries(
                                                {"startLine": _maybe(st.integers(-1, 99))}
                                            )
                                        ),
                                    }
                                )
                            )
                        }
                    )
                ),
                min_size=1,
                max_size=2,
            )
        ),
    },
    optional={
        "level": _maybe(st.sampled_from(["error", "warning", "note", "none"])),
        "partialFingerprints": _maybe(st.dictionaries(st.text(max_size=3), st.text(max_size=4))),
        "suppressions": _maybe(
            st.lists(st.fixed_dictionaries({}, optional={"status": _json, "justification": _json}))
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(doc=_json, results=st.lists(_result, max_size=3))
def test_untrusted_sarif_is_input_error_never_a_crash(doc: object, results: list[object]) -> None:
    candidates = [
        doc,
        {"version": "2.1.0", "runs": doc},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [doc]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}]},
    ]
    for candidate in candidates:
        try:
            found = from_sarif(json.dumps(candidate).encode())
        except InputError:
            continue
        _check_accepted(candidate, found)


def test_the_sarif_fuzz_reaches_accepted_foreign_results() -> None:
    """The structured strategy above does produce logs the parser accepts (not only errors)."""
    accepted: list[Finding] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(results=st.lists(_result, min_size=1, max_size=2))
    def collect(results: list[object]) -> None:
        log = {
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}],
        }
        with contextlib.suppress(InputError):
            accepted.extend(from_sarif(json.dumps(log).encode()))

    collect()
    assert len(accepted) >= 10


def test_oversized_sarif_is_refused() -> None:
    from nebsign import sarif

    with pytest.raises(InputError):
        from_sarif(b" " * (sarif.MAX_SARIF_BYTES + 1))
