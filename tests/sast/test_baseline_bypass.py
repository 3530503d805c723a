"""Issue 18 item 5 (baseline and suppressions) and issue 9 item 19 (CLI on real trees)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from helpers import run_cli
from sast.sastkit import bandit, default_policy, git, semgrep

from nebsign.findings import fingerprint, normalize_snippet
from nebsign.sast.baseline import Baseline
from nebsign.sast.runner import run_scan

TODAY = date(2026, 6, 1)
SYSTEM = "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n"


def _verdict(root: Path, baseline: Baseline | None, *, reason: bool = False):  # type: ignore[no-untyped-def]
    outcome = run_scan(root, ["m.py"], [bandit(), semgrep()], reason_required=reason)
    return default_policy().evaluate(outcome, baseline, TODAY)


def _entry(fp: str, rule: str, path: str) -> bytes:
    return (
        f'[[finding]]\nfingerprint = "{fp}"\nrule = "{rule}"\npath = "{path}"\n'
        'who = "mallory"\nwhy = "test fixture password"\n'
    ).encode()


def test_an_entry_for_another_rule_and_path_accepts_nothing(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SYSTEM)
    first = _verdict(tmp_path, None)
    assert not first.passed
    target = first.failing[0]
    # the fingerprint is computable offline; the entry claims another rule and file
    forged = Baseline.from_toml(_entry(target.fingerprint, "B105", "tests/fixtures.py"))
    assert not _verdict(tmp_path, forged).passed
    honest = Baseline.from_toml(_entry(target.fingerprint, target.rule_id, "m.py"))
    assert _verdict(tmp_path, honest).passed
    assert fingerprint(target.rule_id, "m.py", normalize_snippet([target.snippet]), 0)


def test_a_new_call_inside_an_accepted_long_finding_fails(tmp_path: Path) -> None:
    """Fingerprints cover the whole finding, and no finding folds into another's acceptance."""
    args = "".join(f'        "--flag-{i}",\n' for i in range(12))
    head = 'import subprocess\n\n\ndef run(x):\n    subprocess.run(\n        "cmd " + x,\n'
    body = f"{head}{args}        shell=True,\n    )\n"
    (tmp_path / "m.py").write_text(body)
    first = _verdict(tmp_path, None)
    entries = b"\n".join(
        _entry(f.fingerprint, f.rule_id, f.location.path or "") for f in first.failing
    )
    accepted = Baseline.from_toml(entries)
    assert _verdict(tmp_path, accepted).passed
    evil = body.replace('"--flag-11",', 'o.system(request.args["hook"]),').replace(
        "import subprocess", "import os as o\nimport subprocess"
    )
    (tmp_path / "m.py").write_text(evil)
    verdict = _verdict(tmp_path, accepted)
    assert not verdict.passed
    assert any(f.rule_id in {"B605", "subprocess-shell-true"} for f in verdict.failing)


def test_markers_in_strings_are_not_suppressions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('import os\n\n\ndef run(cmd):\n    os.system(cmd + "# nosec")\n')
    verdict = _verdict(tmp_path, None)
    assert not verdict.passed and not verdict.outcome.suppressed


def test_a_reason_is_required_when_the_policy_says_so(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SYSTEM.replace("system(cmd)", "system(cmd)  # nosec B605"))
    assert _verdict(tmp_path, None, reason=False).outcome.suppressed
    refused = _verdict(tmp_path, None, reason=True)
    assert not refused.passed
    assert not refused.outcome.suppressed
    (tmp_path / "m.py").write_text(
        SYSTEM.replace("system(cmd)", "system(cmd)  # nosec B605 -- fixed argv")
    )
    reasoned = _verdict(tmp_path, None, reason=True)
    assert [s.rule_id for s in reasoned.outcome.suppressed] == ["B605"]
    assert default_policy().suppression_reason_required


def test_staged_scan_reads_the_baseline_from_the_index(repo: Path) -> None:
    (repo / "m.py").write_text(SYSTEM)
    git(repo, "add", "m.py")
    bl = ".nebsign/sast-baseline.toml"
    wrote = run_cli(
        *("scan", "sast", "--no-cache", "--write-baseline", bl, "--who", "a", "--why", "b"),
        cwd=repo,
    )
    assert wrote.exit_code == 0 and "verdict: FAIL" not in wrote.stdout, wrote.stdout
    assert (repo / bl).is_file()  # its directory did not exist: created
    assert run_cli("scan", "sast", "--no-cache", cwd=repo).exit_code == 0
    # the baseline is only in the work tree, not staged: the commit is judged without it
    assert run_cli("scan", "sast", "--staged", "--no-cache", cwd=repo).exit_code == 1
    git(repo, "add", bl)
    assert run_cli("scan", "sast", "--staged", "--no-cache", cwd=repo).exit_code == 0


def test_one_directory_outside_the_cwd_is_the_root(tmp_path: Path) -> None:
    other = tmp_path / "other-repo"
    (other / "pkg").mkdir(parents=True)
    (other / "pkg" / "m.py").write_text(SYSTEM)
    here = tmp_path / "here"
    here.mkdir()
    result = run_cli("scan", "sast", "../other-repo", "--no-cache", "--format", "json", cwd=here)
    assert result.exit_code == 1, result.stderr
    paths = {f["location"]["path"] for f in json.loads(result.stdout)["findings"]}
    assert paths == {"pkg/m.py"}
