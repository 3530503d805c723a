"""Issue 9 items 4 and 2: deadlines cover the whole response; SIGTERM stops a daemon in a fetch."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from agentkit import ReleaseKit
from helpers import REPO

from nebsign._internal.fetch import FetchLimits, FetchTimeout, fetch_bytes

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Dripper:
    """A loopback server that sends its status line and headers one byte at a time."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.done = threading.Event()
        #: bytes of the response sent before each connection ended (or was dropped)
        self.sent: list[int] = []
        self.finished = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        sent = 0
        with conn:
            try:
                conn.recv(65536)
                for b in _RESPONSE:
                    if self.done.is_set():
                        break
                    conn.sendall(bytes([b]))
                    sent += 1
                    time.sleep(self.delay)
            except OSError:
                pass  # the client dropped the connection
        self.sent.append(sent)
        self.finished.set()

    def client_gave_up_early(self) -> bool:
        """True once the connection ended with the status line and headers still incomplete."""
        assert self.finished.wait(60), "the drip never ended"
        return self.sent[0] < len(_RESPONSE) - 20

    def close(self) -> None:
        self.done.set()
        self.sock.close()


_NEBSIGN = [sys.executable, "-m", "nebsign"]


def _url(d: Dripper) -> str:
    return f"http://127.0.0.1:{d.port}/app"


@pytest.fixture
def dripper() -> Iterator[Dripper]:
    d = Dripper(0.25)  # 80 bytes of status line and headers: 20 s if nothing stops it
    yield d
    d.close()


def test_dripped_headers_hit_the_total_deadline(dripper: Dripper) -> None:
    limits = FetchLimits(stall=1.0, total=1.5)  # no recv waits longer than the stall
    with pytest.raises(FetchTimeout, match="deadline"):
        fetch_bytes(f"http://127.0.0.1:{dripper.port}/release.json", limit=1024, limits=limits)
    # Dropped while the headers were still dripping (the old code read them all first).
    assert dripper.client_gave_up_early(), dripper.sent


def test_install_with_dripped_headers_is_an_environment_fault(
    kit: ReleaseKit, dripper: Dripper
) -> None:
    kit.extra_policy = "[limits]\nstall_seconds = 1\ntimeout_seconds = 1.5\n"
    kit.write_policy()
    r = subprocess.run(
        [*_NEBSIGN, "agent", "install", _url(dripper), "--policy", str(kit.policy_path)],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 3, r.stderr
    assert b"deadline" in r.stderr
    assert dripper.client_gave_up_early(), dripper.sent


def test_sigterm_stops_the_daemon_inside_a_slow_fetch(kit: ReleaseKit, dripper: Dripper) -> None:
    kit.extra_policy = "[limits]\nstall_seconds = 30\ntimeout_seconds = 3600\n"
    kit.write_policy()
    dripper.delay = 5.0  # within the stall limit: only the one-hour deadline would end it
    proc = subprocess.Popen(
        [*_NEBSIGN, "agent", "run", "--url", _url(dripper), "--policy", str(kit.policy_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while dripper.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dripper.connections >= 1
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)  # a hang fails here instead of blocking
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert b"stopped after" in err
