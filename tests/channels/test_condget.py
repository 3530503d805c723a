"""Conditional GETs against real and hostile loopback servers; local files too."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nebsign._internal.condget import CondStatus, Validators, conditional_get
from nebsign._internal.fetch import FetchError, FetchLimits, FetchStalled, FetchTimeout
from nebsign.digest import TooLarge

BODY = b'{"a":1}'


class Hostile(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        mode = self.path.strip("/")
        if mode == "ok":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Mon, 30 Nov 2026 12:00:00 GMT")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif mode == "bad-etag":
            self.send_response(200)
            self.send_header("ETag", '"' + "x" * 300 + '"')
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif mode == "big":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * 100_000)
        elif mode == "big-length":
            self.send_response(200)
            self.send_header("Content-Length", "99999999")
            self.end_headers()
        elif mode == "always-304":
            self.send_response(304)
            self.end_headers()
        elif mode == "error":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "drip-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(40):
                self.wfile.write(b"X-Drip: 1\r\n")
                self.wfile.flush()
                time.sleep(0.1)
        elif mode == "short":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * 10)
        elif mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(2)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@contextmanager
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join()


def test_etag_round_trip_and_304() -> None:
    with server() as url:
        first = conditional_get(f"{url}/ok", limit=1000)
        assert first.status is CondStatus.OK and first.body == BODY
        assert first.validators == Validators('"v1"', "Mon, 30 Nov 2026 12:00:00 GMT")
        again = conditional_get(f"{url}/ok", limit=1000, validators=first.validators)
        assert again.status is CondStatus.NOT_MODIFIED and again.body is None
        assert conditional_get(f"{url}/nothing", limit=1000).status is CondStatus.MISSING


def test_hostile_answers() -> None:
    limits = FetchLimits(stall=0.5, total=5)
    with server() as url:
        with pytest.raises(TooLarge):
            conditional_get(f"{url}/big", limit=1000, limits=limits)
        with pytest.raises(TooLarge):
            conditional_get(f"{url}/big-length", limit=1000, limits=limits)
        with pytest.raises(FetchError, match="304 to an unconditional"):
            conditional_get(f"{url}/always-304", limit=1000, limits=limits)
        with pytest.raises(FetchError, match="HTTP 500"):
            conditional_get(f"{url}/error", limit=1000, limits=limits)
        with pytest.raises(FetchError, match="HTTP 302"):
            conditional_get(f"{url}/redirect", limit=1000, limits=limits)
        with pytest.raises(FetchStalled):
            conditional_get(f"{url}/stall", limit=1000, limits=limits)
        with pytest.raises(FetchTimeout):  # each header within the stall time, never done
            conditional_get(f"{url}/drip-headers", limit=1000, limits=FetchLimits(0.5, 1.0))
        with pytest.raises(FetchError, match="closed early"):
            conditional_get(f"{url}/short", limit=1000, limits=limits)
        long_tag = conditional_get(f"{url}/bad-etag", limit=1000, limits=limits)
        assert long_tag.validators.etag is None  # not sent back


def test_local_file_validator(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(BODY)
    first = conditional_get(str(path), limit=100)
    assert first.body == BODY and first.validators.etag
    assert conditional_get(str(path), limit=100, validators=first.validators).body is None
    tmp = tmp_path / "n.json"
    tmp.write_bytes(b'{"a":2}')
    tmp.replace(path)
    assert conditional_get(str(path), limit=100, validators=first.validators).body == b'{"a":2}'
    assert conditional_get(str(tmp_path / "none"), limit=100).status is CondStatus.MISSING
    with pytest.raises(TooLarge):
        conditional_get(str(path), limit=3)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:abc/x", "http://:80/x", "http://127.0.0.1:99999/x"]
)
def test_bad_urls_are_input_errors(url: str) -> None:
    from nebsign.errors import InputError

    with pytest.raises(InputError, match="invalid URL"):
        conditional_get(url, limit=10)
