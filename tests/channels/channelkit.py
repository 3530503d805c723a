"""Kit for channel tests: a static store with releases, real keys, gates, a loopback server."""

from __future__ import annotations

import email.utils
import functools
import http.server
import os
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))

from agentkit import ReleaseKit

from nebsign.attest import GATE_V1, Statement, Subject
from nebsign.channels.model import ChannelStatement, Evidence, Phase
from nebsign.channels.publish import publish_statement
from nebsign.digest import sha256_bytes
from nebsign.keys import PrivateKey, generate_key, key_id, private_key_pem, public_key_pem
from nebsign.signing import sign_statement

NOW = datetime.now(UTC).replace(microsecond=0)
PASS = {"NEBSIGN_PASSPHRASE": "pw"}


def keyfile(path: Path, key: PrivateKey) -> str:
    """*key* as an encrypted PEM file (passphrase: PASS)."""
    path.write_bytes(private_key_pem(key, b"pw"))
    os.chmod(path, 0o600)
    return str(path)


def trust_toml(keys: list[PrivateKey], threshold: int = 1, purposes: str = "") -> str:
    parts = [f"version = 1\nthreshold = {threshold}\n"]
    for k in keys:
        pub = k.public_key()
        parts.append(
            f"[[keys]]\nid = \"{key_id(pub)}\"\npem = '''{public_key_pem(pub).decode()}'''\n"
            + purposes
        )
    return "\n".join(parts)


def gate_bundle(
    key: PrivateKey,
    manifest_sha: str,
    gate: str,
    *,
    verdict: str = "pass",
    hours: str = "4.000",
    at: datetime,
) -> bytes:
    pred = {
        "gate": gate,
        "verdict": verdict,
        "reason": "test",
        "decided_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window": {"start": "x", "end": "y", "hours": hours},
    }
    st = Statement((Subject("release.json", manifest_sha),), GATE_V1, pred)
    return sign_statement(st, key).to_json()


@dataclass
class Store:
    """A publisher's static store plus the keys of each role."""

    base: Path
    release_key: PrivateKey = field(default_factory=generate_key)
    gate_key: PrivateKey = field(default_factory=generate_key)
    channel_key: PrivateKey = field(default_factory=generate_key)
    rollback_key: PrivateKey = field(default_factory=generate_key)

    def __post_init__(self) -> None:
        self.root = self.base / "store"
        self.root.mkdir(parents=True, exist_ok=True)
        self.builder = ReleaseKit(self.base / "builder", key=self.release_key)
        self.manifests: dict[str, str] = {}

    def release(self, version: str, *, files: dict[str, bytes] | None = None) -> Path:
        dest = self.root / "releases" / "app" / version
        self.builder.build(version, files, dest=dest)
        self.manifests[version] = sha256_bytes((dest / "release.json").read_bytes())
        return dest

    def gates(
        self, version: str, *, canary_hours: str = "4.000", regional_hours: str = "12.000"
    ) -> list[Path]:
        """Passing canary (20 h ago) and regional (1 h ago) gate bundles, written as files."""
        sha = self.manifests[version]
        out = []
        gdir = self.base / "gates" / version
        gdir.mkdir(parents=True, exist_ok=True)
        for gate, hours, ago in (("canary", canary_hours, 20), ("regional", regional_hours, 1)):
            path = gdir / f"{gate}.sigstore.json"
            at = NOW - timedelta(hours=ago)
            path.write_bytes(gate_bundle(self.gate_key, sha, gate, hours=hours, at=at))
            out.append(path)
        return out

    def publish(
        self,
        version: str,
        sequence: int,
        *,
        channel: str = "global",
        rollback: bool = False,
        evidence: list[tuple[str, bytes]] | None = None,
        key: PrivateKey | None = None,
        issued: datetime | None = None,
        expires: datetime | None = None,
        manifest: str | None = None,
    ) -> ChannelStatement:
        """Publish a statement directly (no promotion rules: what a stolen key could do)."""
        ev = {sha256_bytes(raw): raw for _, raw in evidence or []}
        gates = [Evidence(gate, sha256_bytes(raw)) for gate, raw in evidence or []]
        st = ChannelStatement(
            channel=channel,
            phase=Phase.GLOBAL if channel.startswith("global") else Phase.CANARY,
            release="app",
            version=version,
            manifest_sha256=manifest or self.manifests[version],
            path=f"releases/app/{version}",
            sequence=sequence,
            issued_at=issued or NOW,
            expires=expires or NOW + timedelta(days=7),
            rollback=rollback,
            evidence=tuple(gates),
        )
        publish_statement(self.root, st, [key or self.channel_key], ev)
        return st

    def evidence(self, version: str, **kw: str) -> list[tuple[str, bytes]]:
        paths = self.gates(version, **kw)
        return [(p.name.split(".")[0], p.read_bytes()) for p in paths]


def host(
    store: Store,
    base: Path,
    *,
    channel: str = "global",
    rollback_trust: bool = True,
    extra: str = "",
) -> ReleaseKit:
    """A host whose policy follows *channel* in *store*."""
    table = f'\n[channel]\nname = "{channel}"\ntrust_policy = "channel-trust.toml"\n'
    if rollback_trust:
        table += 'rollback_trust_policy = "rollback-trust.toml"\n'
    kit = ReleaseKit(base, key=store.release_key, extra_policy=table + extra)
    for name, keys in (
        ("channel-trust.toml", [store.channel_key]),
        ("rollback-trust.toml", [store.rollback_key]),
    ):
        (kit.conf / name).write_text(trust_toml(keys))
        os.chmod(kit.conf / name, 0o644)
    kit.write_policy(extra_keys=(store.gate_key,))
    return kit


class CachingHandler(http.server.SimpleHTTPRequestHandler):
    """A static server with ETag + If-None-Match (and Last-Modified) like nginx or S3."""

    counts: dict[str, int]
    lock: threading.Lock
    down: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def send_head(self):  # type: ignore[no-untyped-def]
        """Open first, then validate the opened file (as nginx does): ETag and body agree."""
        if self.down.is_set():
            self._count("503")
            self.send_error(503, "store down")
            return None
        try:
            f = open(self.translate_path(self.path), "rb")  # noqa: SIM115 - do_GET closes it
        except OSError:
            self._count("404")
            self.send_error(404, "File not found")
            return None
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            f.close()
            self._count("404")
            self.send_error(404, "File not found")
            return None
        etag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'
        if self.headers.get("If-None-Match") == etag:
            f.close()
            # counted before the reply leaves: a client that has its answer may
            # already be reading the counts
            self._count("304")
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        self._count("200")
        self._count("body_bytes", st.st_size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
        self.send_header("ETag", etag)
        self.end_headers()
        return f

    def end_headers(self) -> None:
        buffered = getattr(self, "_headers_buffer", [])
        self._count("header_bytes", sum(len(b) for b in buffered))
        super().end_headers()


class _QuietServer(http.server.ThreadingHTTPServer):
    # listen()'s backlog is taken in __init__: set on the instance afterwards it was 5,
    # and 200 agents polling at once overflowed it (dropped connections, re-asks)
    request_queue_size = 1024

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that closes after a 304/404 header: not the test's concern


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, type[CachingHandler]]]:
    handler = type(
        "Handler",
        (CachingHandler,),
        {"counts": {}, "lock": threading.Lock(), "down": threading.Event()},
    )
    server = _QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_date(when: datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)
