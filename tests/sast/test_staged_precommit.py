"""--staged scans the index, and real pre-commit blocks a vulnerable commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import REPO, run_cli
from sast.sastkit import git

HEAD = "import subprocess\n\n\ndef restart(name):\n"
VULN = HEAD + "    subprocess.run('systemctl restart ' + name, shell=True)\n"
FIXED = HEAD + "    subprocess.run(['systemctl', 'restart', name], check=True)\n"


def test_staged_scans_the_index_not_the_disk(repo: Path) -> None:
    (repo / "svc.py").write_text(VULN)
    git(repo, "add", "svc.py")
    (repo / "svc.py").write_text(FIXED)  # fixed on disk only
    staged = run_cli("scan", "sast", "--staged", "--no-cache", cwd=repo)
    assert staged.exit_code == 1, staged.stderr
    assert "svc.py:5" in staged.stdout and "subprocess-shell-true" in staged.stdout
    disk = run_cli("scan", "sast", "--no-cache", cwd=repo)
    assert disk.exit_code == 0, disk.stdout
    git(repo, "add", "svc.py")  # stage the fix
    assert run_cli("scan", "sast", "--staged", "--no-cache", cwd=repo).exit_code == 0


def test_staged_with_nothing_staged_passes(repo: Path) -> None:
    result = run_cli("scan", "sast", "--staged", "--format", "json", cwd=repo)
    assert result.exit_code == 0
    assert '"files": 0' in result.stdout


def test_staged_outside_a_git_repo_is_input_error(tmp_path: Path) -> None:
    result = run_cli(
        "scan",
        "sast",
        "--staged",
        cwd=tmp_path,
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
    )
    assert result.exit_code == 2
    assert "nebsign: error: git" in result.stderr and "Traceback" not in result.stderr


def _install_hook(repo: Path, tmp_path: Path) -> dict[str, str]:
    """Install nebsign's hook from this repository, the way a user would."""
    hooks_repo = tmp_path / "nebsign-hooks"
    hooks_repo.mkdir()
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks_repo / ".pre-commit-hooks.yaml")
    git(hooks_repo, "init", "-q", "-b", "main")
    git(hooks_repo, "add", ".pre-commit-hooks.yaml")
    git(hooks_repo, "-c", "user.email=a@b", "-c", "user.name=n", "commit", "-q", "-m", "hooks")
    rev = git(hooks_repo, "rev-parse", "HEAD").stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n      - id: nebsign-sast\n"
    )
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    git(repo, "add", ".pre-commit-config.yaml")
    subprocess.run(
        [str(Path(venv_bin) / "pre-commit"), "install"],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    return env


def test_real_pre_commit_blocks_then_passes(repo: Path, tmp_path: Path) -> None:
    env = _install_hook(repo, tmp_path)
    git(repo, "commit", "-q", "-m", "add pre-commit config", env=env)

    (repo / "svc.py").write_text(VULN)
    git(repo, "add", "svc.py")
    blocked = git(repo, "commit", "-m", "vulnerable", check=False, env=env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "nebsign SAST" in output and "Failed" in output
    assert "svc.py:5" in output and "subprocess-shell-true" in output
    assert git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "2"

    # fixed on disk, still staged vulnerable: still blocked
    (repo / "svc.py").write_text(FIXED)
    still = git(repo, "commit", "-m", "still vulnerable", check=False, env=env)
    assert still.returncode != 0, still.stdout + still.stderr
    assert "subprocess-shell-true" in still.stdout + still.stderr
    assert (repo / "svc.py").read_text() == FIXED  # pre-commit restored the unstaged fix

    git(repo, "add", "svc.py")
    passed = git(repo, "commit", "-m", "fixed", check=False, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "nebsign SAST" in passed.stdout + passed.stderr
    assert git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "3"


def test_offered_hooks_are_valid_pre_commit_manifests() -> None:
    from pre_commit.clientlib import load_config, load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"nebsign-sast", "nebsign-sast-isolated"}
    for hook in hooks.values():
        assert hook["entry"] == "nebsign scan sast --staged"
        # every file and symlink reaches nebsign, which decides what Python runs
        assert hook["types"] == [] and hook["types_or"] == ["file", "symlink"]
        assert hook["require_serial"]
    assert hooks["nebsign-sast-isolated"]["language"] == "python"
    own = load_config(str(REPO / ".pre-commit-config.yaml"))
    local = {h["id"]: h for r in own["repos"] for h in r["hooks"]}
    assert local["nebsign-sast"]["entry"].endswith("nebsign scan sast --staged")


def test_real_pre_commit_blocks_a_symlinked_module_and_a_python_script(
    repo: Path, tmp_path: Path
) -> None:
    """pre-commit tags a symlink ``symlink`` and a script by its shebang: both reach the hook."""
    env = _install_hook(repo, tmp_path)
    git(repo, "commit", "-q", "-m", "add pre-commit config", env=env)
    (repo / "docs").mkdir()
    (repo / "docs" / "hooks.txt").write_text(VULN)
    os.symlink("docs/hooks.txt", repo / "hooks.py")
    git(repo, "add", "-A")
    blocked = git(repo, "commit", "-m", "link", check=False, env=env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "hooks.py:5" in output and "subprocess-shell-true" in output
    git(repo, "rm", "-q", "--cached", "hooks.py", "docs/hooks.txt")

    script = repo / "deploy"
    script.write_text("#!/usr/bin/env python3\n" + VULN)
    script.chmod(0o755)
    git(repo, "add", "deploy")
    blocked = git(repo, "commit", "-m", "script", check=False, env=env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "deploy:6" in output and "subprocess-shell-true" in output
