"""The one subprocess runner: timeout with process-group kill, bounded output, stdin."""

from __future__ import annotations

import os
import time

import pytest

from nebsign._internal.subproc import run

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie not yet reaped by init counts as gone: it runs nothing
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_timeout_kills_the_whole_process_group() -> None:
    # the shell starts a grandchild that would outlive it, then hangs on it
    done = run(["sh", "-c", "sleep 300 & echo $!; wait"], timeout=1.0, env=ENV)
    assert done.timed_out and done.returncode is None and not done.too_large
    grandchild = int(done.stdout.split()[0])
    for _ in range(200):  # the kill is sent before run() returns; reaping may lag
        if _gone(grandchild):
            break
        time.sleep(0.05)
    assert _gone(grandchild)


def test_output_past_the_limit_stops_the_run() -> None:
    done = run(["yes"], timeout=60.0, env=ENV, max_output=1 << 20)
    assert done.too_large and done.returncode is None and not done.timed_out
    assert 1 << 20 < len(done.stdout) <= (1 << 20) + 64 * 1024


def test_keep_tail_keeps_the_end_and_lets_the_run_finish() -> None:
    done = run(
        ["sh", "-c", "seq 1 100000; exit 3"],
        timeout=60.0,
        env=ENV,
        max_output=100,
        keep_tail=True,
        merge_stderr=True,
    )
    assert done.returncode == 3 and not done.too_large
    assert len(done.stdout) <= 100 and done.stdout.endswith(b"99999\n100000\n")


def test_stdin_larger_than_a_pipe_while_output_flows_back() -> None:
    data = os.urandom(5 << 20)
    done = run(["cat"], timeout=60.0, env=ENV, data=data)
    assert done.returncode == 0 and done.stdout == data and done.stderr == b""


def test_streams_exit_code_and_a_missing_program() -> None:
    done = run(["sh", "-c", "echo out; echo err >&2; exit 7"], timeout=60.0, env=ENV)
    assert (done.returncode, done.stdout, done.stderr) == (7, b"out\n", b"err\n")
    with pytest.raises(FileNotFoundError):
        run(["/nonexistent/tool"], timeout=5.0, env=ENV)
