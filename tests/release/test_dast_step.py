"""The DAST step of ``nebsign release`` against the sample shop served on 127.0.0.1 (the real
scanner, a real WSGI server): the fixed shop passes and is attested, the vulnerable one stops
the release at DAST."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from releasekit import REPO, release

from nebsign.bundle import Bundle
from nebsign.keys import load_public_key
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import verify_attestation


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _shop() -> Any:
    spec = importlib.util.spec_from_file_location(
        "release_test_shop", REPO / "examples/dast/shop.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serve(fixed: bool) -> Iterator[str]:
    app = _shop().make_app(fixed=fixed)
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_fixed_shop_passes_dast_and_is_attested(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    out = tmp_path / "out"
    with serve(fixed=True) as url:
        result = release(
            example,
            example,
            out,
            keys[0],
            "--staging-url",
            url,
            "--format",
            "json",
            cache=sast_cache,
        )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["step"] for s in report["steps"]] == ["sast", "dast"]
    assert report["steps"][1]["verdict"] == "pass"
    bundle = Bundle.from_json((out / "attestations" / "dast.sigstore.json").read_bytes())
    policy = TrustPolicy.from_keys([load_public_key(keys[1].read_bytes())])
    statement = verify_attestation(bundle, policy)
    names = [name for name, _ in statement.subjects]
    assert names[0] == "release.json" and names[1] == f"dast-target:{url.rstrip('/')}"
    assert statement.predicate["target"] == [url.rstrip("/")]
    assert statement.predicate["coverage"]["requests"] > 0


def test_the_vulnerable_shop_stops_the_release_at_dast(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    out = tmp_path / "out"
    with serve(fixed=False) as url:
        result = release(
            example,
            example,
            out,
            keys[0],
            "--staging-url",
            url,
            "--format",
            "json",
            cache=sast_cache,
        )
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == ["dast"]
    assert "release stopped at dast: FAIL: DAST policy failed" in result.stderr
    assert not out.exists()
