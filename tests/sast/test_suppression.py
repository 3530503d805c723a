"""Inline # nosec / # nosemgrep: honoured, tool-specific, and always counted."""

from __future__ import annotations

from pathlib import Path

from sast.sastkit import bandit, semgrep

from nebsign.sast.runner import run_scan

CODE = """import pickle
import subprocess


def a(x):
    return pickle.loads(x)  # nosec


def b(x):
    return pickle.loads(x)  # nosemgrep: pickle-load


def c(x):
    # nosemgrep
    return pickle.loads(x)  # nosec B301


def d(x):
    return pickle.loads(x)  # nosec B602 (names another test: not silenced)


def e(cmd):
    subprocess.run(cmd, shell=True)  # nosemgrep: some-other-rule
"""


def test_suppressions_are_honoured_per_tool_and_counted(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    outcome = run_scan(tmp_path, ["m.py"], [bandit(), semgrep()])
    open_ = {(f.tool, f.rule_id, f.location.line) for f in outcome.findings}
    silenced = {(s.tool, s.rule_id, s.line) for s in outcome.suppressed}
    # a(): bandit silenced by "# nosec", semgrep still reports
    assert ("bandit", "B301", 6) in silenced and ("semgrep", "pickle-load", 6) in open_
    # b(): semgrep silenced by name, bandit still reports
    assert ("semgrep", "pickle-load", 10) in silenced and ("bandit", "B301", 10) in open_
    # c(): both silenced (semgrep by the comment on the line above)
    assert ("semgrep", "pickle-load", 15) in silenced and ("bandit", "B301", 15) in silenced
    assert not {k for k in open_ if k[2] == 15}
    # d(): a nosec naming another test does not silence B301; merged into semgrep's finding
    merged = [f for f in outcome.findings if f.location.line == 19]
    assert [(f.tool, f.rule_id) for f in merged] == [("semgrep", "pickle-load")]
    assert merged[0].properties["also_reported_by"] == [{"rule_id": "B301", "tool": "bandit"}]
    # e(): nosemgrep naming another rule does not silence subprocess-shell-true
    assert ("semgrep", "subprocess-shell-true", 23) in open_
    # each suppression records exactly the comment that silenced it (the one a reviewer
    # reads), and nothing else was silenced
    assert sorted((s.tool, s.rule_id, s.line, s.comment) for s in outcome.suppressed) == [
        ("bandit", "B301", 6, "# nosec"),
        ("bandit", "B301", 15, "# nosec B301"),
        ("semgrep", "pickle-load", 10, "# nosemgrep: pickle-load"),
        ("semgrep", "pickle-load", 15, "# nosemgrep"),
    ]
    assert {s.path for s in outcome.suppressed} == {"m.py"}


def test_line_numbers_agree_with_the_scanners_despite_form_feeds(tmp_path: Path) -> None:
    code = "import pickle\n\x0c\n# section\n\n\ndef a(x):\n    return pickle.loads(x)  # nosec\n"
    (tmp_path / "m.py").write_text(code)
    outcome = run_scan(tmp_path, ["m.py"], [bandit(), semgrep()])
    assert [(s.tool, s.line) for s in outcome.suppressed] == [("bandit", 7)]
    (finding,) = outcome.findings
    assert finding.location.line == 7 and finding.snippet.startswith("return pickle.loads(x)")
