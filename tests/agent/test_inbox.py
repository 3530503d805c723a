"""Issue 9 items 2 and 3: the inbox is worked on through descriptors; names are data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from agentkit import ReleaseKit
from helpers import REPO, assert_one_line_error, run_cli

_NEBSIGN = [sys.executable, "-m", "nebsign"]


def _ready(path: Path) -> Path:
    (path / ".ready").write_bytes(b"")
    return path


def _run_once(kit: ReleaseKit, inbox: Path) -> subprocess.CompletedProcess[bytes]:
    # A subprocess with a timeout: a daemon blocked in open() fails the test instead of hanging it.
    return subprocess.run(
        [
            *_NEBSIGN,
            "agent",
            "run",
            "--once",
            "--inbox",
            str(inbox),
            "--policy",
            str(kit.policy_path),
        ],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_rejected_symlink_is_not_followed(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    os.symlink(outside, inbox / ".rejected")
    bad = kit.build("1.0.0", dest=inbox / "planted")
    (bad / "payload" / "bin" / "app").write_bytes(b"#!/bin/sh\nevil\n")
    _ready(bad)
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert list(outside.iterdir()) == []  # nothing planted through the link
    assert (inbox / "planted").is_dir()  # left where it was, reported
    assert b".rejected is not a real directory" in r.stderr
    assert [e["event"] for e in kit.log_events()] == ["refused"]


def test_done_symlink_is_not_followed_and_daemon_moves_on(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    os.symlink(outside, inbox / ".done")
    _ready(kit.build("1.0.0", dest=inbox / "a"))
    _ready(kit.build("1.1.0", dest=inbox / "b"))
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert list(outside.iterdir()) == []
    assert kit.current_payload() == b"app 1.1.0\n"  # the second release still installed


def test_fifo_release_json_does_not_block(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rel = kit.build("1.0.0", dest=inbox / "fifo")
    os.unlink(rel / "release.json")
    os.mkfifo(rel / "release.json")
    _ready(rel)
    _ready(kit.build("1.1.0", dest=inbox / "good"))
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert b"not a regular file" in r.stderr
    assert (inbox / ".rejected" / "fifo").is_dir()
    assert kit.current_payload() == b"app 1.1.0\n"


def test_fifo_bundle_and_payload_do_not_block(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rel = kit.build("1.0.0", dest=inbox / "fifo")
    os.unlink(rel / "attestations" / "sast.sigstore.json")
    os.mkfifo(rel / "attestations" / "sast.sigstore.json")
    _ready(rel)
    rel2 = kit.build("1.1.0", dest=inbox / "fifo2")
    os.unlink(rel2 / "payload" / "bin" / "app")
    os.mkfifo(rel2 / "payload" / "bin" / "app")
    _ready(rel2)
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (inbox / ".rejected").iterdir()) == ["fifo", "fifo2"]


def test_links_and_special_files_in_the_inbox(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    elsewhere = _ready(kit.build("1.0.0", dest=tmp_path / "elsewhere"))
    os.symlink(elsewhere, inbox / "linked")  # a link to a valid release: not followed
    os.mkfifo(inbox / "pipe")
    linked_payload = kit.build("1.1.0", dest=inbox / "sublink")
    shutil.move(linked_payload / "payload" / "bin", tmp_path / "bin-elsewhere")
    os.symlink(tmp_path / "bin-elsewhere", linked_payload / "payload" / "bin")
    _ready(linked_payload)
    marker_link = kit.build("1.2.0", dest=inbox / "markerlink")
    os.symlink("/etc/hostname", marker_link / ".ready")
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert not (kit.root / "current").exists()
    rejected = sorted(p.name for p in (inbox / ".rejected").iterdir())
    assert rejected == ["linked", "markerlink", "pipe", "sublink"]
    assert (inbox / ".rejected" / "linked").is_symlink()  # the link moved, its target untouched
    assert (elsewhere / "release.json").is_file()
    refusals = [e for e in kit.log_events() if e["event"] == "refused"]
    assert sum(e["reason"] == "unsafe-inbox-entry" for e in refusals) == 3  # linked, pipe, marker
    assert len(refusals) == 4  # and sublink: an install attempt refused on the link inside


def test_non_utf8_name_is_rejected_and_escaped(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    raw = os.fsencode(inbox) + b"/bad-\xff\xfe"
    bad = kit.build("1.0.0", dest=tmp_path / "b", attest=False)
    os.rename(bad, raw)
    _ready(Path(os.fsdecode(raw)))
    _ready(kit.build("1.1.0", dest=inbox / "z-good"))
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    assert b"bad-\\xff\\xfe" in r.stderr and b"\xff" not in r.stderr
    assert kit.current_payload() == b"app 1.1.0\n"
    events = kit.log_events()
    assert [e["event"] for e in events] == ["refused", "installed"]
    assert "bad-\\xff\\xfe" in str(events[0]["source"])
    assert run_cli("agent", "log", "verify", "--policy", str(kit.policy_path)).exit_code == 0


def test_newline_in_name_cannot_forge_a_line(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "x\ninstalled: app 9.9.9 \x1b[32mOK"
    bad = kit.build("1.0.0", dest=inbox / name, attest=False)
    _ready(bad)
    r = _run_once(kit, inbox)
    assert r.returncode == 0, r.stderr
    out = (r.stdout + r.stderr).decode()
    assert not any(line.startswith("installed") for line in out.splitlines())
    assert "x\\ninstalled: app 9.9.9 \\x1b[32mOK" in out
    assert "\x1b" not in out


def test_bad_urls_are_input_errors(kit: ReleaseKit) -> None:
    for url in ("http://127.0.0.1:abc/x", "http://[::1/x", "http://[zz::1]/x", "http:///x"):
        r = run_cli("agent", "install", url, "--policy", str(kit.policy_path))
        assert_one_line_error(r, 2)
        assert "internal error" not in r.stderr
        r = run_cli("agent", "run", "--once", "--url", url, "--policy", str(kit.policy_path))
        assert_one_line_error(r, 2)


def test_payload_names_in_refusals_are_escaped(kit: ReleaseKit) -> None:
    name = "bin/x\x1b[31mred\nline"
    rel = kit.build("1.0.0", {name: b"signed\n"})
    (rel / "payload" / name).write_bytes(b"signeD\n")  # same size, other bytes
    r = run_cli("agent", "install", str(rel), "--policy", str(kit.policy_path))
    assert_one_line_error(r, 1)
    assert "\x1b" not in r.stderr and "payload/bin/x\\x1b[31mred\\nline" in r.stderr
    logged = kit.log_events()[-1]
    assert "\\x1b[31mred\\nline" in str(logged["message"])
