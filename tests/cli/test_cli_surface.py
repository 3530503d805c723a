"""What a user trips on (issue 9 items 17 and 20): help, JSON on every outcome,
Ctrl-C, -v anywhere, missing files, escaping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import click
import pytest
from helpers import NEBSIGN, assert_one_line_error, run_cli

from nebsign.cli import COMMANDS, LazyGroup, cli


def _all_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    assert isinstance(cli, LazyGroup)
    out: list[tuple[str, click.Command]] = [("", cli)]
    todo = [(name, cli.get_command(ctx, name)) for name in sorted(COMMANDS)]
    while todo:
        name, cmd = todo.pop(0)
        assert cmd is not None
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            todo += [(f"{name} {sub}", c) for sub, c in sorted(cmd.commands.items())]
    return out


@pytest.mark.parametrize(("name", "command"), _all_commands(), ids=lambda v: str(v) or "nebsign")
def test_every_help_has_an_example_and_no_literal_backslash_b(
    name: str, command: click.Command
) -> None:
    r = run_cli(*name.split(), "--help")
    assert r.exit_code == 0, r.stderr
    assert "Example" in r.stdout, f"`nebsign {name} --help` has no example"
    assert "\\b" not in r.stdout and "\b" not in r.stdout


def test_exit_codes_and_interrupt_are_documented() -> None:
    r = run_cli("--help")
    assert "130" in r.stdout and "interrupted" in r.stdout
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "| 130 |" in readme and "nebsign: interrupted" in readme
    assert "_NEBSIGN_COMPLETE" in readme  # shell completion


def test_ctrl_c_is_interrupted_130(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [*NEBSIGN, "hash", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # Opening the FIFO for writing returns once nebsign opened it to read: it is
    # running and now waits for data that never comes.
    with open(fifo, "wb"):
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().strip() == "nebsign: interrupted"


def test_verbose_after_the_subcommand(tmp_path: Path) -> None:
    before = run_cli("-v", "hash", str(tmp_path / "nope"))
    after = run_cli("hash", str(tmp_path / "nope"), "-v")
    for r in (before, after):
        assert r.exit_code == 2 and "Traceback" in r.stderr
    nested = run_cli("agent", "log", "verify", "--root", str(tmp_path / "nope"), "--verbose")
    assert nested.exit_code == 2 and "Traceback" in nested.stderr


def test_sign_names_a_missing_file(tmp_path: Path) -> None:
    r = run_cli("sign", "nope", "--key", "also-nope", cwd=tmp_path)
    assert_one_line_error(r, 2)
    assert "nope: no such file" in r.stderr


def test_verify_names_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "k.pub").write_text("x")
    r = run_cli("verify", "nope", "--key", "k.pub", cwd=tmp_path)
    assert_one_line_error(r, 2)


def test_hash_devices_and_process_substitution_like_sha256sum(tmp_path: Path) -> None:
    script = (
        f"{' '.join(NEBSIGN)} hash /dev/null <(printf hello); sha256sum /dev/null <(printf hello)"
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    lines = out.decode().splitlines()
    assert len(lines) == 4
    assert lines[0] == lines[2]
    assert lines[1].split()[0] == lines[3].split()[0]  # /dev/fd/N may differ
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["bash", "-c", f"printf abc > {fifo}"])
    r = run_cli("hash", str(fifo))
    writer.wait(60)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_hash_check_reports_missing_as_missing(tmp_path: Path) -> None:
    (tmp_path / "here").write_text("x")
    sums = subprocess.run(["sha256sum", "here"], cwd=tmp_path, capture_output=True).stdout
    (tmp_path / "SUMS").write_bytes(sums + b"0" * 64 + b"  gone\n")
    r = run_cli("hash", "-c", "SUMS", cwd=tmp_path)
    assert_one_line_error(r, 1)
    assert "missing (first: gone)" in r.stderr
    assert "did NOT match" not in r.stderr  # nothing was compared and found different
    assert r.stdout == "here: OK\ngone: FAILED open or read\n"  # sha256sum's stdout
    j = json.loads(run_cli("hash", "-c", "SUMS", "--format", "json", cwd=tmp_path).stdout)
    assert j["missing"] == 1 and j["files"][1]["status"] == "MISSING"


def test_manifest_verify_escapes_names(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a").write_text("a")
    assert run_cli("manifest", "create", str(tree), "-o", str(tmp_path / "m.json")).exit_code == 0
    (tree / "evil\nOK: 99 entries match").write_text("x")
    (tree / "esc\x1b[31m").write_text("x")
    r = run_cli("manifest", "verify", str(tmp_path / "m.json"), str(tree))
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        "EXTRA    esc\\x1b[31m",
        "EXTRA    evil\\nOK: 99 entries match",
    ]


# --- --format json on every outcome (item 17) ---


def test_json_on_a_refusal_of_any_command(tmp_path: Path) -> None:
    r = run_cli("hash", str(tmp_path / "nope"), "--format", "json")
    assert_one_line_error(r, 2)
    report = json.loads(r.stdout)
    assert report == {
        "ok": False,
        "reason": "input-error",
        "message": report["message"],
        "exit_code": 2,
    }
    assert "nope" in report["message"]


def test_agent_refusal_and_log_failure_as_json(tmp_path: Path) -> None:
    from cli.clikit import agent_kit

    kit = agent_kit(tmp_path)
    r = run_cli("agent", "install", str(kit.build("1.0.0", verdict="fail")),
                "--policy", str(kit.policy_path), "--format", "json")  # fmt: skip
    assert_one_line_error(r, 1)
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["reason"] == "missing-attestation"
    assert report["exit_code"] == 1 and "found verdicts ['fail']" in report["message"]
    ok = run_cli("agent", "install", str(kit.build("1.0.0")), "--policy", str(kit.policy_path))
    assert ok.exit_code == 0, ok.stderr
    log = kit.root / "audit.log"
    log.write_text(log.read_text().replace('"installed"', '"instaIled"'))
    bad = run_cli("agent", "log", "verify", "--root", str(kit.root), "--format", "json")
    assert_one_line_error(bad, 1)
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["reason"] == "log-tampered"


def test_json_is_not_printed_twice(tmp_path: Path) -> None:
    """A command that printed its own JSON report and then fails prints one JSON document."""
    (tmp_path / "a").write_text("a")
    (tmp_path / "SUMS").write_text("0" * 64 + "  a\n")
    r = run_cli("hash", "-c", "SUMS", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["failed"] == 1  # one document


def test_usage_error_with_json(tmp_path: Path) -> None:
    for args in (["--format", "json"], ["--format", "json", "--bogus"], ["--format=json", "-Z"]):
        r = run_cli("hash", *args)
        assert_one_line_error(r, 2)
        assert json.loads(r.stdout)["reason"] == "usage"


# --- demo --workdir (item 18) ---


def test_demo_workdir_relative_and_rerun(tmp_path: Path) -> None:
    tmp_path = tmp_path / 'a "quoted" dir'  # the agent step writes it into TOML
    tmp_path.mkdir()
    first = run_cli("demo", "--workdir", "rel", cwd=tmp_path, timeout=600)
    assert first.exit_code == 0, first.stdout[-2000:] + first.stderr
    again = run_cli("demo", "--workdir", "rel", cwd=tmp_path, timeout=600)
    assert again.exit_code == 0, again.stdout[-2000:] + again.stderr
    assert (tmp_path / "rel" / ".nebsign-demo").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("my file")
    refused = run_cli("demo", "--workdir", str(mine))
    assert_one_line_error(refused, 2)
    assert (mine / "keep.txt").read_text() == "my file"


def test_shell_completion_as_documented() -> None:
    script = run_cli(env={"_NEBSIGN_COMPLETE": "bash_source"})
    assert script.exit_code == 0 and "_nebsign_completion" in script.stdout
    words = run_cli(
        env={"_NEBSIGN_COMPLETE": "bash_complete", "COMP_WORDS": "nebsign agent log v",
             "COMP_CWORD": "3"},
    )  # fmt: skip
    assert "plain,verify" in words.stdout.splitlines()


def test_warnings_are_escaped(tmp_path: Path) -> None:
    from cli.clikit import agent_kit

    kit = agent_kit(tmp_path)
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    (rel / "signatures" / "x\nnebsign: installed evil.sigstore.json").write_bytes(b"{")
    r = run_cli("agent", "install", str(rel), "--policy", str(kit.policy_path))
    assert r.exit_code == 0, r.stderr
    warning = [line for line in r.stderr.splitlines() if "ignored" in line]
    assert len(warning) == 1 and "x\\nnebsign: installed evil" in warning[0]
    assert not any(line.startswith("nebsign: installed") for line in r.stderr.splitlines())


def test_manifest_create_and_verify_leave_out_the_same_files(
    tmp_path: Path, keypair: tuple[Path, Path]
) -> None:
    tree = tmp_path / "dist"
    tree.mkdir()
    (tree / "app.tar.gz").write_text("app")
    (tree / "old.bin").write_text("old")
    (tree / "old.bin.sigstore.json").write_text("a signature of old.bin")
    (tree / "orphan.sigstore.json").write_text("no file of that name: part of the release")
    made = run_cli("manifest", "create", str(tree), "-o", str(tree / "release.json"),
                   "--format", "json")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["files"] == 3  # app.tar.gz, old.bin, orphan.sigstore.json
    signed = run_cli("sign", str(tree / "app.tar.gz"), str(tree / "release.json"),
                     "--key", str(keypair[0]))  # fmt: skip
    assert signed.exit_code == 0, signed.stderr
    ok = run_cli("manifest", "verify", str(tree / "release.json"))
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    both = run_cli("verify", str(tree / "release.json"), "--manifest", "--key", str(keypair[1]))
    assert both.exit_code == 0, both.stderr
    (tree / "orphan.sigstore.json").unlink()
    gone = run_cli("manifest", "verify", str(tree / "release.json"))
    assert gone.exit_code == 1 and "MISSING  orphan.sigstore.json" in gone.stdout
