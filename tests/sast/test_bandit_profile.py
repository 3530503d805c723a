"""nebsign's mapping of bandit tests: severity follows bandit's own judgement where it says so."""

from __future__ import annotations

from pathlib import Path

from sast.sastkit import bandit

from nebsign.findings import Severity
from nebsign.sast.runner import run_scan

CODE = """import os
import subprocess
import xml.etree.ElementTree as ET


def a(cmd, doc):
    os.system("sync")
    os.system(cmd)
    subprocess.Popen("ls -l", shell=True)
    subprocess.Popen(cmd, shell=True)
    return ET.fromstring(doc)
"""


def test_bandit_severity_mapping(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    outcome = run_scan(tmp_path, ["m.py"], [bandit()])
    got = {(f.rule_id, f.location.line): f for f in outcome.findings}
    # bandit rates a constant command "LOW": nebsign keeps it low ("B605/LOW")
    assert got[("B605", 7)].severity is Severity.LOW
    assert got[("B605", 7)].properties["bandit_severity"] == "LOW"
    assert got[("B605", 8)].severity is Severity.HIGH
    assert got[("B602", 9)].severity is Severity.LOW
    assert got[("B602", 10)].severity is Severity.HIGH
    assert got[("B602", 10)].cwe == ("CWE-78",)
    # a test without a nebsign mapping keeps bandit's own severity and CWE
    xml = next(f for f in outcome.findings if f.rule_id.startswith("B31"))
    assert xml.severity.value == xml.properties["bandit_severity"].lower()
    assert xml.cwe == (xml.properties["bandit_cwe"],)
    assert xml.title and not xml.title.startswith("blacklist")


RELEASE_CODE = """import os
import tarfile

from Crypto.Cipher import AES


def f(x, p):
    tarfile.open(x).extractall()
    with tarfile.open(x) as t:
        t.extractall(filter="data")
    os.chmod(p, 0o777)
    os.chmod(p, 0o600)
    return AES
"""


def test_profile_flags_unsafe_unpack_world_writable_files_and_broken_crypto(
    tmp_path: Path,
) -> None:
    """Issue 9 item 19: B202, B103 and the B4xx imports that are flaws by themselves."""
    from sast.sastkit import default_policy

    (tmp_path / "m.py").write_text(RELEASE_CODE)
    outcome = run_scan(tmp_path, ["m.py"], [bandit()])
    got = {(f.rule_id, f.location.line) for f in outcome.findings}
    assert got == {("B413", 4), ("B202", 8), ("B103", 11)}
    policy = default_policy()
    assert all(policy.level_for(f).value == "FAIL" for f in outcome.findings)
