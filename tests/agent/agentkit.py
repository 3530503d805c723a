"""Release kit for agent tests: real keys, real signatures, real attestations."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.keys import PrivateKey, generate_key, key_id, public_key_pem
from nebsign.manifest import Manifest
from nebsign.policy.host import HostPolicy, load_host_policy
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

FAR = "2099-01-01T00:00:00Z"


@dataclass
class ReleaseKit:
    base: Path
    key: PrivateKey = field(default_factory=generate_key)
    extra_policy: str = ""
    keep: int = 3

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.conf = self.base / "etc"
        self.conf.mkdir(mode=0o755)
        self.root = self.base / "agent"
        self.write_policy()

    def write_policy(self, *, threshold: int = 1, extra_keys: tuple[PrivateKey, ...] = ()) -> None:
        keys = [self.key, *extra_keys]
        parts = [f"version = 1\nthreshold = {threshold}\n"]
        for k in keys:
            pub = k.public_key()
            parts.append(
                f"[[keys]]\nid = \"{key_id(pub)}\"\npem = '''{public_key_pem(pub).decode()}'''\n"
            )
        trust = self.conf / "trust.toml"
        trust.write_text("\n".join(parts))
        os.chmod(trust, 0o644)
        host = self.conf / "agent.toml"
        host.write_text(
            f'root = "{self.root}"\ntrust_policy = "trust.toml"\nname = "app"\nkeep = {self.keep}\n'
            + self.extra_policy
            + '\n[[require]]\npredicate_type = "sast"\nverdict = "pass"\n'
        )
        os.chmod(host, 0o644)

    @property
    def policy_path(self) -> Path:
        return self.conf / "agent.toml"

    def policy(self) -> HostPolicy:
        return load_host_policy(self.policy_path)

    def build(
        self,
        version: str,
        files: dict[str, bytes] | None = None,
        *,
        name: str = "app",
        expires: str | None = FAR,
        key: PrivateKey | None = None,
        attest: bool = True,
        verdict: str = "pass",
        symlinks: dict[str, str] | None = None,
        dest: Path | None = None,
        link_files: dict[str, Path] | None = None,
        executable: tuple[str, ...] = (),
        sast_scanned: dict[str, str] | None = None,
    ) -> Path:
        rel = dest or self.base / "pub" / f"{name}-{version}"
        if rel.exists():
            shutil.rmtree(rel)
        payload = rel / "payload"
        payload.mkdir(parents=True)
        files = files if files is not None else {"bin/app": f"app {version}\n".encode()}
        for path, data in files.items():
            (payload / path).parent.mkdir(parents=True, exist_ok=True)
            (payload / path).write_bytes(data)
        for path in executable:
            os.chmod(payload / path, 0o755)
        for path, existing in (link_files or {}).items():
            (payload / path).parent.mkdir(parents=True, exist_ok=True)
            os.link(existing, payload / path)  # big files: no copy in the set-up
        for path, target in (symlinks or {}).items():
            (payload / path).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, payload / path)
        manifest = build_manifest(payload, name=name, version=version, expires=expires)
        (rel / "release.json").write_bytes(manifest.to_json())
        signer = key or self.key
        (rel / "release.json.sigstore.json").write_bytes(
            sign_digest(manifest.digest(), signer).to_json()
        )
        atts = []
        if attest:
            (rel / "attestations").mkdir()
            stmt = Statement(
                (Subject("release.json", manifest.digest()),),
                SAST_V1,
                {
                    "verdict": verdict,
                    "tool": "test",
                    "scanned": sast_scanned if sast_scanned is not None else _scanned(manifest),
                },
            )
            (rel / "attestations" / "sast.sigstore.json").write_bytes(
                sign_statement(stmt, signer).to_json()
            )
            atts.append("attestations/sast.sigstore.json")
        (rel / "index.json").write_text(
            json.dumps({"signatures": ["release.json.sigstore.json"], "attestations": atts})
        )
        return rel

    def current_payload(self, path: str = "bin/app") -> bytes:
        return (self.root / "current" / "payload" / path).read_bytes()

    def log_events(self) -> list[dict[str, object]]:
        log = self.root / "audit.log"
        return [json.loads(line) for line in log.read_text().splitlines()]


def _scanned(manifest: Manifest) -> dict[str, str]:
    """A SAST predicate's ``scanned`` table covering every file of *manifest* (issue 18)."""
    import posixpath

    files = {e.path: e.sha256 for e in manifest.files}
    out = {path: f"sha256:{digest}" for path, digest in files.items()}
    for link in manifest.symlinks:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(link.path), link.target))
        if target in files:
            out[link.path] = f"sha256:{files[target]}"
    return out
