"""Demo step: ``nebsign release`` builds the signed release in one call (DAST against the
sample shop started on 127.0.0.1 as the staging deployment, stopped after); the agent installs
it; a planted SQL-string vulnerability stops the release at SAST with nothing published.

Leaves ``release_out`` (the published directory) and ``release_host`` (the agent root)
in ``ctx.values``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from nebsign.agent.install import install_release
from nebsign.keys import PrivateKey, generate_key, key_id, public_key_pem
from nebsign.policy.host import load_host_policy
from nebsign.release import ReleaseRequest, clock, expires_after, run_release

from . import DemoContext
from .dast import _serve, _shop

TITLE = "nebsign release: the build-server step in one command; the agent installs its output"

PLANTED = (
    "\n\ndef find(conn, account):\n"
    "    return conn.execute(f\"SELECT * FROM orders WHERE account = '{account}'\").fetchall()\n"
)


def _host_policy(etc: Path, root: Path, key: PrivateKey) -> Path:
    etc.mkdir(mode=0o755, parents=True)
    pub = key.public_key()
    trust = etc / "trust.toml"
    trust.write_text(
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(pub)}"\n'
        f"pem = '''{public_key_pem(pub).decode()}'''\n"
    )
    require = "".join(
        f'[[require]]\npredicate_type = "{t}"\nverdict = "pass"\n'
        for t in ("sast", "dast", "audit", "gate")
    )
    host = etc / "agent.toml"
    host.write_text(
        f"root = {json.dumps(str(root))}\n"  # a JSON string is a TOML basic string
        'trust_policy = "trust.toml"\nname = "exchange-api"\nkeep = 3\n' + require
    )
    for path in (trust, host):
        os.chmod(path, 0o644)
    return host


def _request(
    ctx: DemoContext, src: Path, out: Path, staging_url: str | None = None
) -> ReleaseRequest:
    metrics = ctx.examples / "metrics"
    return ReleaseRequest(
        src_dir=src,
        build_dir=src,
        out_dir=out,
        name="exchange-api",
        version="1.4.3",
        expires=expires_after(clock(None), 30),
        sast_cache=ctx.workdir / "sast-cache",
        audits=(ctx.examples / "audits" / "vault-audit.toml",),
        staging_baseline=(metrics / "staging-baseline.json",),
        staging_current=(metrics / "staging-current-pass.json",),
        canary_metrics=(metrics / "canary-pass.om",),
        staging_url=staging_url,
    )


def run(ctx: DemoContext) -> Iterator[str]:
    base = ctx.workdir / "build-server"
    base.mkdir()
    key = generate_key()
    src = Path(ctx.values.get("release_dir", ctx.examples / "release"))
    out = base / "published" / "exchange-api-1.4.3"
    with _serve(_shop(ctx).make_app(fixed=True)) as url:  # staging: the sample shop, loopback
        outcome = run_release(_request(ctx, src, out, url), key)
    outcome.raise_for_verdict()
    for step in outcome.steps:
        yield f"{step.step}: {step.verdict.upper()}: {step.reason}"
    attestations = [name for name in outcome.layout if name.startswith("attestations/")]
    yield (
        f"published {out.name}/: release.json (sha256:{outcome.manifest_sha256[:16]}...) "
        f"signed, {len(attestations)} signed attestations, index.json for HTTP"
    )
    if "report/index.html" in outcome.layout:
        yield f"public report rendered from the verified release, signed: {out.name}/report/"
    root = base / "host"
    policy = load_host_policy(_host_policy(base / "etc", root, key))
    installed = install_release(policy, str(out))
    yield (
        f"agent install (requires sast, dast, audit and gate to pass): {installed.status.value}, "
        f"current -> {os.readlink(root / 'current')}"
    )
    ctx.values["release_out"] = out
    ctx.values["release_host"] = root

    planted = base / "planted"
    shutil.copytree(src, planted, symlinks=True)
    orders = planted / "app" / "exchange_api" / "orders.py"
    orders.write_text(orders.read_text() + PLANTED)
    stopped = run_release(_request(ctx, planted, base / "planted-out"), key)
    first = stopped.failed[0]
    published = "nothing published" if stopped.published is None else "PUBLISHED (a bug)"
    if stopped.published is not None or first.step != "sast":
        raise AssertionError(f"a planted SQL string was not stopped at SAST: {first.step}")
    yield f"planted SQL string in orders.py: stopped at {first.step} (exit 1), {published}"
    yield f"  {first.reason}"
