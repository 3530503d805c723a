"""A verdict's outputs, written one way for every source: SARIF, baseline, signed statement."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.baseline import Baseline
from nebsign.bundle import Bundle
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source, Status, StatusNote
from nebsign.keys import PrivateKey, generate_key
from nebsign.policy.sast import SastGateFailed
from nebsign.policy.trust import TrustPolicy
from nebsign.verdict_files import (
    Acceptance,
    VerdictOutputs,
    accept_open,
    manifest_subject,
    raise_unless_accepted,
    write_verdict_outputs,
)
from nebsign.verify import verify_attestation


def _finding(rule: str, fp: str, status: Status = Status.OPEN) -> Finding:
    note = StatusNote(who="a@b", why="old") if status is not Status.OPEN else None
    return Finding(
        source=Source.DAST,
        tool="t",
        rule_id=rule,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=Location(url="http://127.0.0.1/app", parameter="q", method="GET"),
        fingerprint=fp * 64,
        status=status,
        status_note=note,
    )


OPEN = [_finding("sqli-error", "a"), _finding("xss-reflected", "b")]
ACCEPTED = _finding("csrf", "c", Status.ACCEPTED_RISK)
STATEMENT = Statement(
    subjects=(Subject("release.json", "0" * 64),),
    predicate_type=SAST_V1,
    predicate={"verdict": "fail"},
)


def test_the_baseline_accepts_exactly_the_open_findings_in_a_new_directory(
    tmp_path: Path,
) -> None:
    target = tmp_path / "new" / "dir" / "baseline.toml"
    accept = Acceptance(target, "a@b", "known", date(2099, 12, 31))
    assert accept_open([*OPEN, ACCEPTED], accept) == 2
    matched, _fixed = Baseline.from_toml(target.read_bytes()).match(
        [*OPEN, _finding("csrf", "c")], date(2026, 6, 1)
    )
    assert [f.status for f in matched] == [Status.ACCEPTED_RISK] * 2 + [Status.OPEN]


def test_outputs_are_written_in_one_order_and_the_key_is_loaded_only_to_sign(
    tmp_path: Path,
) -> None:
    key = generate_key()
    written: list[str] = []
    loads: list[int] = []

    def write(path: Path, data: bytes) -> None:
        written.append(path.name)
        path.write_bytes(data)

    def signing_key() -> PrivateKey:
        loads.append(1)
        return key

    outputs = VerdictOutputs(
        sarif=tmp_path / "out.sarif",
        attest=tmp_path / "out.sigstore.json",
        accept=Acceptance(tmp_path / "baseline.toml", "a@b", "known"),
        signing_key=signing_key,
        write=write,
    )
    accepted = write_verdict_outputs(
        outputs,
        OPEN,
        sarif=lambda: b"{}",
        statement=lambda: STATEMENT,
        also=[(tmp_path / "manifest.json", lambda: b"[]"), (None, lambda: b"never")],
    )
    assert accepted == 2 and loads == [1]
    assert written == ["out.sarif", "manifest.json", "baseline.toml", "out.sigstore.json"]
    bundle = Bundle.from_json((tmp_path / "out.sigstore.json").read_bytes())
    assert verify_attestation(bundle, TrustPolicy.from_keys([key.public_key()])) == STATEMENT


def test_nothing_asked_for_writes_nothing_and_signs_nothing(tmp_path: Path) -> None:
    def never() -> bytes:
        raise AssertionError("made bytes nobody asked for")

    assert write_verdict_outputs(VerdictOutputs(), OPEN, sarif=never, statement=never) is None
    assert os.listdir(tmp_path) == []


def test_a_statement_without_a_key_is_refused_as_input_error(tmp_path: Path) -> None:
    outputs = VerdictOutputs(attest=tmp_path / "a.sigstore.json")
    with pytest.raises(InputError):
        write_verdict_outputs(outputs, OPEN, sarif=lambda: b"", statement=lambda: STATEMENT)
    assert not (tmp_path / "a.sigstore.json").exists()


def test_the_manifest_subject_is_the_file_name_and_sha256(tmp_path: Path) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b"abc")
    sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert manifest_subject(manifest) == Subject("release.json", sha)


@dataclass
class _Verdict:
    passed: bool

    def reason(self) -> str:
        return "policy failed: 2 finding(s) at level FAIL"


def test_a_failed_verdict_is_exit_1_unless_a_baseline_was_written_to_accept_it() -> None:
    with pytest.raises(SastGateFailed, match="2 finding") as failed:
        raise_unless_accepted(_Verdict(passed=False), None, SastGateFailed)
    assert failed.value.exit_code == 1
    raise_unless_accepted(_Verdict(passed=False), 0, SastGateFailed)  # wrote an empty baseline
    raise_unless_accepted(_Verdict(passed=True), None, SastGateFailed)
