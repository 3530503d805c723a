"""The README works as written (issue 9 item 18): its end-to-end block runs verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import REPO, run_cli


def _flow_block() -> str:
    readme = (REPO / "README.md").read_text()
    found = re.search(r"<!-- flow:start -->\n```sh\n(.*?)```\n<!-- flow:end -->", readme, re.S)
    assert found, "README lost its end-to-end block"
    return found.group(1)


def test_readme_flow_runs_as_written(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "nebsign"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m nebsign "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "NEBSIGN_PASSPHRASE": "pw"}
    script = "set -eu\n" + _flow_block()
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "attested: https://nebsign.dev/attestation/sast/v1" in proc.stdout
    # and the claim after the block: without the attestation, refused
    r = run_cli("verify", "release.json", "--manifest", "--root", "dist/", "--policy",
                "trust.toml", cwd=work)  # fmt: skip
    assert r.exit_code == 1 and "no verified" in r.stderr


def test_help_names_files_that_exist() -> None:
    """Every repository file a --help or the README names as policies/... exists."""
    texts = [run_cli(*cmd, "--help").stdout for cmd in (["verify"], ["scan", "sast"])]
    texts.append((REPO / "README.md").read_text())
    named = {m for t in texts for m in re.findall(r"policies/[\w./-]+\.(?:toml|yaml|json)", t)}
    assert "policies/trust-example.toml" in named
    for rel in named:
        assert (REPO / rel).exists(), f"{rel} is named but does not exist"
