"""The report's "verify it yourself" commands work as printed, with nebsign and coreutils."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from helpers import NEBSIGN
from report import reportkit as kit

from nebsign.keys import PrivateKey
from nebsign.policy.trust import TrustPolicy
from nebsign.report.publish import build_report_dir


def test_printed_commands_run_and_pass(tmp_path: Path, key: PrivateKey) -> None:
    work = tmp_path / "work"
    release = kit.make_release(work / "exchange-api-1.4.2", key, kit.all_types())
    kit.write_policy(work / "trust.toml", key)
    result = build_report_dir(
        release, work / "report", policy=TrustPolicy.from_keys([key.public_key()]), key=key
    )
    section = result.doc["verify"]
    assert section["release_dir"] == "exchange-api-1.4.2"
    assert len(section["commands"]) == 2 + 4  # manifest, 4 attestations, report
    for command in section["commands"]:
        argv = shlex.split(command)
        assert argv[0] == "nebsign"
        proc = subprocess.run([*NEBSIGN, *argv[1:]], cwd=work, capture_output=True, check=False)
        assert proc.returncode == 0, (command, proc.stderr.decode())
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None
    proc = subprocess.run(
        [sha256sum, "-c"],
        input="\n".join(section["sha256sum"]).encode() + b"\n",
        cwd=release / "payload",
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.count(b": OK") == 2, proc.stdout
    html = (work / "report" / "index.html").read_text()
    assert "cd exchange-api-1.4.2/payload &amp;&amp; sha256sum -c" in html
