"""``nebsign release`` on the bundled example vs its steps one by one with the CLI.

Run by hand: ``.venv/bin/python bench/bench_release.py [--runs 5]``.

The peer does what a build script without ``nebsign release`` would do to get
the same release directory: ``cp -a`` the build output to ``payload/``, then
``nebsign manifest create``, ``scan sast --format json`` + ``attest create``,
``scan dast --attest`` (the sample shop on 127.0.0.1 as staging),
``audit check --attest``, ``gate staging --attest``, ``gate canary --attest``,
``sign``, an ``index.json`` written by hand and ``report build``: nine processes. ``nebsign
release`` is one process that shares start-up, imports and the manifest.
Both sides get the same inputs (example, audit file, staging and canary
metrics, an encrypted key with the passphrase in the environment) and the
same SAST cache state: "warm" reuses one cache directory, "cold" runs every
scanner (``--no-sast-cache`` / ``--no-cache``). Runs are interleaved; the
median of each side and their ratio are printed. Target: <= 1.0x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "release"))
from releasekit import AUDITS, EPOCH, EXAMPLE, METRICS, PASSPHRASE, make_key  # noqa: E402

NEBSIGN = [sys.executable, "-m", "nebsign"]
FAR = "2099-01-01T00:00:00Z"


def _run(args: list[str], env: dict[str, str], stdout: Path | None = None) -> None:
    if stdout is None:
        subprocess.run(args, env=env, check=True, capture_output=True)
        return
    with open(stdout, "wb") as fh:
        subprocess.run(args, env=env, check=True, stdout=fh, stderr=subprocess.DEVNULL)


def _shop_server() -> tuple[str, Any]:
    """The sample shop (fixed) on 127.0.0.1 in a thread: the staging deployment both sides scan."""
    import importlib.util
    import threading
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    spec = importlib.util.spec_from_file_location("bench_shop", REPO / "examples/dast/shop.py")
    assert spec is not None and spec.loader is not None
    shop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shop)
    server = make_server("127.0.0.1", 0, shop.make_app(fixed=True), Server, Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


STAGING = ""


def ours(out: Path, key: Path, cache: Path | None, env: dict[str, str]) -> None:
    cache_args = ["--sast-cache", str(cache)] if cache else ["--no-sast-cache"]
    _run(
        [
            *NEBSIGN,
            "release",
            str(EXAMPLE),
            str(EXAMPLE),
            "-o",
            str(out),
            "--key",
            str(key),
            "--name",
            "exchange-api",
            "--version",
            "1.4.3",
            "--expires",
            FAR,
            "-q",
            "--audit",
            str(AUDITS / "vault-audit.toml"),
            "--staging-baseline",
            str(METRICS / "staging-baseline.json"),
            "--staging-current",
            str(METRICS / "staging-current-pass.json"),
            "--canary-metrics",
            str(METRICS / "canary-pass.om"),
            *cache_args,
        ],
        env,
    )


def peer(out: Path, key: Path, cache: Path | None, env: dict[str, str], work: Path) -> None:
    out.mkdir()
    (out / "attestations").mkdir()
    _run(["cp", "-a", str(EXAMPLE), str(out / "payload")], env)
    manifest = out / "release.json"
    _run(
        [
            *NEBSIGN,
            "manifest",
            "create",
            str(out / "payload"),
            "--name",
            "exchange-api",
            "--version",
            "1.4.3",
            "--expires",
            FAR,
            "-o",
            str(manifest),
        ],
        env,
    )
    cache_args = ["--cache", str(cache)] if cache else ["--no-cache"]
    sast = work / "sast.json"
    _run(
        [
            *NEBSIGN,
            "scan",
            "sast",
            str(EXAMPLE),
            "--root",
            str(EXAMPLE),
            "--format",
            "json",
            "-q",
            *cache_args,
        ],
        env,
        stdout=sast,
    )
    att = out / "attestations"
    _run(
        [
            *NEBSIGN,
            "attest",
            "create",
            "--type",
            "sast",
            "--predicate",
            str(sast),
            "--subject",
            str(manifest),
            "--key",
            str(key),
            "-o",
            str(att / "sast.sigstore.json"),
        ],
        env,
    )
    _run(
        [
            *NEBSIGN,
            "audit",
            "check",
            "--manifest",
            str(manifest),
            "--root",
            str(out / "payload"),
            str(AUDITS / "vault-audit.toml"),
            "--attest",
            str(att / "audit.sigstore.json"),
            "--key",
            str(key),
        ],
        env,
    )
    _run(
        [
            *NEBSIGN,
            "gate",
            "staging",
            "--baseline",
            str(METRICS / "staging-baseline.json"),
            "--current",
            str(METRICS / "staging-current-pass.json"),
            "--subject-manifest",
            str(manifest),
            "--attest",
            str(att / "gate-staging.sigstore.json"),
            "--key",
            str(key),
        ],
        env,
    )
    _run(
        [
            *NEBSIGN,
            "gate",
            "canary",
            "--metrics",
            str(METRICS / "canary-pass.om"),
            "--subject-manifest",
            str(manifest),
            "--attest",
            str(att / "gate-canary.sigstore.json"),
            "--key",
            str(key),
        ],
        env,
    )
    _run([*NEBSIGN, "sign", str(manifest), "--key", str(key)], env)
    names = sorted(f"attestations/{p.name}" for p in att.iterdir())
    (out / "index.json").write_text(
        json.dumps({"attestations": names, "signatures": ["release.json.sigstore.json"]})
    )
    pub = key.with_suffix(".pub")
    _run(
        [
            *NEBSIGN,
            "report",
            "build",
            str(out),
            "-o",
            str(out / "report"),
            "--trust-key",
            str(pub),
            "--key",
            str(key),
            "--date",
            "2026-01-01",
        ],
        env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["warm", "cold"])
    args = parser.parse_args()
    global STAGING
    env = {**os.environ, "NEBSIGN_PASSPHRASE": PASSPHRASE, "SOURCE_DATE_EPOCH": EPOCH}
    STAGING, server = _shop_server()
    try:
        _bench(args, env)
    finally:
        server.shutdown()
        server.server_close()


def _bench(args: argparse.Namespace, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        work = Path(tmp)
        key, _ = make_key(work)
        for mode in ("warm", "cold"):
            if args.only and mode != args.only:
                continue
            cache = work / "cache" if mode == "warm" else None
            if cache is not None:  # fill the cache once, as a build server's would be
                ours(work / "prime", key, cache, env)
                shutil.rmtree(work / "prime")
            a: list[float] = []
            b: list[float] = []
            for i in range(args.runs):
                for side, times in (("ours", a), ("peer", b)):
                    out = work / f"{mode}-{side}-{i}"
                    start = time.perf_counter()
                    if side == "ours":
                        ours(out, key, cache, env)
                    else:
                        peer(out, key, cache, env, work)
                    times.append(time.perf_counter() - start)
                    shutil.rmtree(out)
            ma, mb = statistics.median(a), statistics.median(b)
            print(
                f"{mode} SAST cache: nebsign release {ma:.2f} s (range {min(a):.2f}-{max(a):.2f}), "
                f"steps one by one {mb:.2f} s (range {min(b):.2f}-{max(b):.2f}): "
                f"ratio {ma / mb:.2f}x (target <= 1.0x)"
            )


if __name__ == "__main__":
    main()
