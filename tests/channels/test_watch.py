"""``nebsign gate watch``: 48 h after global; FAIL prints the exact fleet rollback command."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from channelkit import PASS, Store, keyfile
from helpers import assert_one_line_error, run_cli

from nebsign.channels.model import ChannelStatement

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gate"))
from gatekit import generator

pytest.importorskip("scipy", reason="the gates extra (scipy) is part of the test extra")


def _metrics(tmp_path: Path, *, fail: bool, hours: int = 49) -> Path:
    gen = generator()
    burst = (600, 700, 400) if fail else None
    path = tmp_path / ("fail.om" if fail else "pass.om")
    path.write_text(gen.canary(minutes=hours * 60, burst=burst))
    return path


def _released(store: Store) -> None:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    store.publish("1.1.0", 2, evidence=store.evidence("1.1.0"))


def test_watch_pass(store: Store, tmp_path: Path) -> None:
    _released(store)
    out = run_cli(
        "gate", "watch", "--metrics", str(_metrics(tmp_path, fail=False)),
        "--store", str(store.root),
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert "watch gate: PASS" in out.stdout


def test_watch_short_window_fails_closed(store: Store, tmp_path: Path) -> None:
    _released(store)
    out = run_cli(
        "gate", "watch", "--metrics", str(_metrics(tmp_path, fail=False, hours=47)),
        "--store", str(store.root),
    )  # fmt: skip
    assert out.exit_code == 1
    assert "short-window" in out.stdout


def test_watch_fail_prints_the_exact_rollback_command_that_works(
    store: Store, tmp_path: Path
) -> None:
    _released(store)
    out = run_cli(
        "gate", "watch", "--metrics", str(_metrics(tmp_path, fail=True)),
        "--store", str(store.root),
    )  # fmt: skip
    assert_one_line_error(out, 1)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("roll every global host"))
    command = line.split(": ", 1)[1]
    argv = shlex.split(command)
    assert argv[:6] == ["nebsign", "rollback", "--channel", "global", "--to", "1.0.0"]
    assert command in out.stderr
    key = keyfile(tmp_path / "rollback.key", store.rollback_key)
    done = run_cli(*[a if a != "KEY" else key for a in argv[1:]], env=PASS)
    assert done.exit_code == 0, done.stderr
    st = ChannelStatement.from_json((store.root / "channels/global.json").read_bytes())
    assert (st.version, st.sequence, st.rollback) == ("1.0.0", 3, True)


def test_watch_auto_rollback(store: Store, tmp_path: Path) -> None:
    _released(store)
    key = keyfile(tmp_path / "rollback.key", store.rollback_key)
    out = run_cli(
        "gate", "watch", "--metrics", str(_metrics(tmp_path, fail=True)),
        "--store", str(store.root), "--auto-rollback", "--rollback-key", key, env=PASS,
    )  # fmt: skip
    assert_one_line_error(out, 1)
    assert "auto-rollback: channel global -> 1.0.0, statement #3" in out.stdout
    st = ChannelStatement.from_json((store.root / "channels/global.json").read_bytes())
    assert st.rollback and st.version == "1.0.0"
    usage = run_cli(
        "gate", "watch", "--metrics", str(_metrics(tmp_path, fail=True)), "--auto-rollback"
    )
    assert_one_line_error(usage, 2)
