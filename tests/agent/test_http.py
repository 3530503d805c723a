"""Releases served over HTTP from 127.0.0.1, including hostile servers."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import ReleaseKit

from nebsign._internal.fetch import FetchError, FetchLimits, FetchStalled, fetch_bytes
from nebsign.agent.daemon import Event, run_daemon
from nebsign.agent.install import InstallStatus, install_release
from nebsign.digest import TooLarge
from nebsign.errors import NebsignError

# path suffix -> behaviour for that file
MODES: dict[str, str] = {}


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        mode = next((m for suffix, m in MODES.items() if self.path.endswith(suffix)), None)
        if mode is None:
            super().do_GET()
            return
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        self.send_response(200)
        if mode == "stall":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:3])
            self.wfile.flush()
            time.sleep(3)
        elif mode == "oversend":  # no Content-Length: send far more than the manifest says
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data + b"X" * 100_000)
        elif mode == "big-length":
            self.send_header("Content-Length", str(len(data) + 10))
            self.end_headers()
            self.wfile.write(data + b"X" * 10)
        elif mode == "drip":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for b in data:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(0.3)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(Handler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    MODES.clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        MODES.clear()


def _policy_kit(kit: ReleaseKit) -> None:
    kit.extra_policy = "[limits]\nstall_seconds = 0.5\ntimeout_seconds = 2\n"
    kit.write_policy()


def test_install_over_http(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", {"bin/app": b"served\n", "a b/c%d": b"odd name\n"}, dest=www / "r1")
    out = install_release(kit.policy(), f"{base}/r1")
    assert out.status is InstallStatus.INSTALLED
    assert kit.current_payload() == b"served\n"
    assert kit.current_payload("a b/c%d") == b"odd name\n"


def test_url_credentials_never_logged(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "r1")
    url = base.replace("http://", "http://user:s3cret@") + "/r1?token=s3cret"
    install_release(kit.policy(), url)  # user info and query are kept for every file
    kit.build("1.1.0", dest=www / "r1")
    (www / "r1" / "payload" / "bin" / "app").write_bytes(b"app 6.6.6\n")
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), url)
    assert info.value.exit_code == 1  # the tampered payload is refused as a verdict
    assert "s3cret" not in info.value.message
    assert "s3cret" not in (kit.root / "audit.log").read_text()
    assert "s3cret" not in (kit.root / "state.json").read_text()


def test_stalling_server_dropped(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "r1")
    MODES["/payload/bin/app"] = "stall"
    t0 = time.monotonic()
    with pytest.raises(FetchStalled, match="stalled"):
        install_release(kit.policy(), f"{base}/r1")
    assert time.monotonic() - t0 < 2.5
    assert kit.log_events()[-1]["reason"] == "fetch-stalled"
    assert not (kit.root / "current").exists()


def test_dripping_server_hits_deadline(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", {"bin/app": b"0123456789" * 2}, dest=www / "r1")
    MODES["/payload/bin/app"] = "drip"  # a byte every 0.3 s: never stalls, never ends
    with pytest.raises(FetchError, match="deadline"):
        install_release(kit.policy(), f"{base}/r1")


def test_oversending_server_refused(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "r1")
    MODES["/payload/bin/app"] = "oversend"
    with pytest.raises(TooLarge, match="oversized download refused"):
        install_release(kit.policy(), f"{base}/r1")
    assert kit.log_events()[-1]["reason"] == "oversized"


def test_announced_length_mismatch_refused(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "r1")
    MODES["/payload/bin/app"] = "big-length"
    with pytest.raises(TooLarge, match="oversized download refused") as info:
        install_release(kit.policy(), f"{base}/r1")
    assert "server announces 20 bytes, expected 10" in str(info.value.__cause__)


def test_oversized_manifest_refused(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    (www / "big").write_bytes(b"x" * 5000)
    with pytest.raises(TooLarge):
        fetch_bytes(f"{base}/big", limit=1000, limits=FetchLimits(1, 5))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_bytes(f"{base}/missing", limit=1000, limits=FetchLimits(1, 5))


def test_daemon_polls_url(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "app")
    events: list[Event] = []
    stop = threading.Event()
    policy = kit.policy()
    run_daemon(policy, url=f"{base}/app", stop=stop, report=events.append, once=True)
    kit.build("1.1.0", dest=www / "app")
    stats = run_daemon(policy, url=f"{base}/app", stop=stop, report=events.append, once=True)
    assert [e.kind.value for e in events] == ["installed", "installed"]
    assert stats.installed == 1
    assert kit.current_payload() == b"app 1.1.0\n"
    # a refused release is tried once, not on every poll
    kit.build("1.0.5", dest=www / "app")
    daemon_stop = threading.Event()
    thread = threading.Thread(
        target=run_daemon,
        args=(policy,),
        kwargs={
            "url": f"{base}/app",
            "stop": daemon_stop,
            "report": events.append,
            "interval": 0.05,
        },
    )
    thread.start()
    time.sleep(0.5)
    daemon_stop.set()
    thread.join(5)
    assert not thread.is_alive()
    refused = [e for e in kit.log_events() if e["event"] == "refused"]
    assert len(refused) == 1 and refused[0]["reason"] == "downgrade"


def test_daemon_retries_after_a_stall(kit: ReleaseKit, server: tuple[str, Path]) -> None:
    base, www = server
    _policy_kit(kit)
    kit.build("1.0.0", dest=www / "app")
    MODES["/payload/bin/app"] = "stall"
    events: list[Event] = []
    stop = threading.Event()
    policy = kit.policy()
    stats = run_daemon(policy, url=f"{base}/app", stop=stop, report=events.append, once=True)
    assert stats.errors == 1 and not (kit.root / "current").exists()
    MODES.clear()  # the network recovers: the same release is tried again
    run_daemon(policy, url=f"{base}/app", stop=stop, report=events.append, once=True)
    assert [e.kind.value for e in events] == ["error", "installed"]
    assert kit.current_payload() == b"app 1.0.0\n"
