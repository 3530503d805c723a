"""docs/ci/: each CI example is parsed and its commands run here, with a local key in place
of the CI secret store, against a temporary git repository holding the bundled example."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from releasekit import EXAMPLE, PASSPHRASE, REPO

CI = REPO / "docs" / "ci"
VENV_BIN = str(Path(sys.executable).parent)
TAG = "v1.4.3"
MAKEFILE = "build:\n\tmkdir -p build\n\tcp -a app bin config contracts dist build/\n"
VULN = (
    "def find(conn, account):\n"
    "    return conn.execute(f\"SELECT * FROM t WHERE a = '{account}'\")\n"
)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    return subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What actions/checkout or a GitLab runner leaves: the project at the tagged commit."""
    repo = tmp_path / "project"
    shutil.copytree(EXAMPLE, repo, symlinks=True)
    (repo / "Makefile").write_text(MAKEFILE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1.4.3")
    git(repo, "tag", TAG)
    return repo


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBSIGN_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def _expand(value: str, expressions: dict[str, str]) -> str:
    """Replace ``${{ expr }}``; an expression this test does not know fails it."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        assert expr in expressions, f"unknown expression in the workflow: {expr}"
        return expressions[expr]

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


def _check_published(repo: Path, keys: tuple[Path, Path]) -> None:
    out = repo / "release" / "exchange-api-1.4.3"
    result = json.loads((repo / "release-result.json").read_text())
    assert result["ok"] is True and result["published"] == f"release/{out.name}"
    assert result["time_source"] == "SOURCE_DATE_EPOCH"
    assert (out / "index.json").is_file() and (out / "payload" / "app" / "run.sh").is_file()
    assert (out / "report" / "report.json.sigstore.json").is_file()
    verified = subprocess.run(
        [f"{VENV_BIN}/nebsign", "verify", str(out / "release.json"), "--key", str(keys[1])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr


def _github_steps(path: Path) -> tuple[dict, list[dict]]:
    workflow = yaml.safe_load(path.read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads `on:` as True
    job = workflow["jobs"]["release"]
    return job, job["steps"]


def run_github(
    repo: Path, keys: tuple[Path, Path], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    job, steps = _github_steps(CI / "github-actions.yml")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    expressions = {
        "secrets.NEBSIGN_SIGNING_KEY": keys[0].read_text(),
        "secrets.NEBSIGN_PASSPHRASE": PASSPHRASE,
        "github.ref_name": TAG,
    }
    ran = []
    failed: subprocess.CompletedProcess[str] | None = None
    for step in steps:
        if "uses" in step:
            assert step["uses"].split("@")[0] in {
                "actions/checkout",
                "actions/setup-python",
                "actions/upload-artifact",
            }
            continue
        if step["name"] == "Install nebsign":  # the test's venv already has it (offline)
            assert "nebsign" in step["run"]
            continue
        if failed is not None and step.get("if") != "always()":
            continue
        env = {
            k: _expand(str(v), expressions)
            for k, v in {**job["env"], **step.get("env", {})}.items()
        }
        env["RUNNER_TEMP"] = str(runner_temp)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo,
            capture_output=True,
            text=True,
            env=_env(env),
            check=False,
        )
        ran.append(step["name"])
        if proc.returncode != 0 and failed is None:
            failed = proc
    assert ran[-1] == "Remove the key"
    assert not (runner_temp / "release.key").exists()
    return failed or subprocess.CompletedProcess([], 0, "", "")


def test_github_actions_workflow_publishes_a_verified_release(
    checkout: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    result = run_github(checkout, keys, tmp_path)
    assert result.returncode == 0, result.stderr
    _check_published(checkout, keys)


def test_github_actions_workflow_fails_the_job_on_a_sast_finding(
    checkout: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    (checkout / "app" / "exchange_api" / "lookup.py").write_text(VULN)
    result = run_github(checkout, keys, tmp_path)
    assert result.returncode == 1
    assert "release stopped at sast" in result.stderr
    assert not (checkout / "release" / "exchange-api-1.4.3").exists()


def test_gitlab_ci_job_publishes_a_verified_release(
    checkout: Path, keys: tuple[Path, Path]
) -> None:
    config = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    job = config["release"]
    assert job["rules"] == [{"if": "$CI_COMMIT_TAG =~ /^v/"}]
    assert job["before_script"] == ["python -m pip install 'nebsign[build]'"]  # offline here
    env = {k: str(v) for k, v in job["variables"].items()}
    env.update(
        CI_COMMIT_TAG=TAG,
        NEBSIGN_SIGNING_KEY=str(keys[0]),  # a "File" variable: the path of the key
        NEBSIGN_PASSPHRASE=PASSPHRASE,
    )
    script = "\n".join(job["script"])  # GitLab runs the lines in one shell, stopping at a failure
    proc = subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=_env(env),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _check_published(checkout, keys)
    for path in job["artifacts"]["paths"]:
        assert (checkout / path).exists(), path


def test_pre_commit_config_runs_the_offered_hook_and_blocks_a_finding(
    checkout: Path, tmp_path: Path
) -> None:
    config = yaml.safe_load((CI / "pre-commit-config.yaml").read_text())
    [entry] = config["repos"]
    assert entry["repo"] == "https://github.com/nebsign/nebsign"
    offered = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in entry["hooks"]} <= offered
    # the same config, with the hooks repository made local (no network)
    hooks = tmp_path / "nebsign-hooks"
    hooks.mkdir()
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks / ".pre-commit-hooks.yaml")
    git(hooks, "init", "-q", "-b", "main")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-q", "-m", "hooks")
    entry["repo"], entry["rev"] = str(hooks), git(hooks, "rev-parse", "HEAD").strip()
    (checkout / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    env = _env({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")})
    (checkout / "app" / "exchange_api" / "lookup.py").write_text(VULN)
    git(checkout, "add", "-A")
    proc = subprocess.run(
        [f"{VENV_BIN}/pre-commit", "run"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "lookup.py" in proc.stdout and "Failed" in proc.stdout
    (checkout / "app" / "exchange_api" / "lookup.py").write_text("X = 1\n")
    git(checkout, "add", "-A")
    proc = subprocess.run(
        [f"{VENV_BIN}/pre-commit", "run"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
