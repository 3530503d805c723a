"""Shared set-up of the release tests: a real encrypted key, a copy of the example, policies."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nebsign.keys import generate_key, key_id, private_key_pem, public_key_pem

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests"))
from helpers import Result, run_cli  # noqa: E402

EXAMPLE = REPO / "examples" / "release"
METRICS = REPO / "examples" / "metrics"
AUDITS = REPO / "examples" / "audits"
PASSPHRASE = "correct horse battery staple"
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z

__all__ = [
    "AUDITS",
    "EPOCH",
    "EXAMPLE",
    "METRICS",
    "PASSPHRASE",
    "REPO",
    "Result",
    "make_key",
    "release",
]


def make_key(directory: Path) -> tuple[Path, Path]:
    """An encrypted Ed25519 key (0600) and its public key."""
    key = generate_key()
    path = directory / "release.key"
    path.write_bytes(private_key_pem(key, PASSPHRASE.encode()))
    os.chmod(path, 0o600)
    pub = directory / "release.pub"
    pub.write_bytes(public_key_pem(key.public_key()))
    return path, pub


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, symlinks=True)
    return dest


def release(
    src: Path,
    build: Path,
    out: Path,
    key: Path,
    *extra: str,
    cache: Path | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """``nebsign release`` as a real process, with the passphrase from the environment."""
    args = [
        "release",
        str(src),
        str(build),
        "-o",
        str(out),
        "--key",
        str(key),
        "--name",
        "exchange-api",
        "--version",
        "1.4.3",
    ]
    if cache is not None:
        args += ["--sast-cache", str(cache)]
    full = {"NEBSIGN_PASSPHRASE": PASSPHRASE, "SOURCE_DATE_EPOCH": EPOCH}
    full.update(env or {})
    return run_cli(*args, *extra, env=full)


def write_agent_policy(etc: Path, root: Path, pub: Path, *, require_gate: bool) -> Path:
    """trust.toml with the release key, agent.toml requiring SAST (and a gate) to pass."""
    from nebsign.keys import load_public_key

    etc.mkdir(mode=0o755, parents=True)
    public = load_public_key(pub.read_bytes())
    trust = etc / "trust.toml"
    trust.write_text(
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(public)}"\n'
        f"pem = '''{pub.read_text()}'''\n"
    )
    gate = (
        '[[require]]\npredicate_type = "gate"\nverdict = "pass"\n'
        '[[require]]\npredicate_type = "audit"\nverdict = "pass"\n'
        if require_gate
        else ""
    )
    host = etc / "agent.toml"
    host.write_text(
        f'root = "{root}"\ntrust_policy = "trust.toml"\nname = "exchange-api"\nkeep = 3\n'
        '[[require]]\npredicate_type = "sast"\nverdict = "pass"\n' + gate
    )
    for path in (trust, host):
        os.chmod(path, 0o644)
    return host
