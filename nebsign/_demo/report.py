"""Demo step: the public audit report of the example release, signed and re-checked.

Publishes the example release in the agent's layout (``payload/``,
``release.json`` + its signature, the SAST verdict of the earlier step as a
signed attestation about ``release.json``, and any attestation a later
capability left in ``ctx.values["release_attestations"]`` as (file name,
bundle bytes)), builds the report from it, verifies the report, shows that an
edited copy is refused, and leaves its path in ``ctx.values["report_path"]``.

The demo signs with a key derived from a fixed seed so that ``reports/`` in
the repository is byte-identical on every run (Ed25519 signatures are
deterministic). A real release key is generated (``nebsign key generate``)
and kept secret; never derive one from a published seed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from nebsign._internal.resources import data_path
from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.digest import sha256_bytes
from nebsign.errors import EnvironmentFault, VerdictError
from nebsign.keys import PrivateKey, key_id, public_key_pem
from nebsign.policy.trust import TrustPolicy
from nebsign.report.publish import build_report_dir, verify_report_dir
from nebsign.sast.verdict import predicate as sast_predicate
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

from . import DemoContext

TITLE = "Public audit report: rendered from verified evidence, signed, re-checked"
NAME, VERSION = "exchange-api", "1.4.2"
#: where the report goes; default: reports/ of a source checkout, else the demo's workdir
REPORTS_ENV = "NEBSIGN_DEMO_REPORTS"


def demo_key() -> PrivateKey:
    """The demo's release key: Ed25519 from a fixed, published seed (demo only)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    seed = bytes.fromhex(sha256_bytes(b"nebsign demo release key (public seed, demo only)"))
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def _reports_dir(ctx: DemoContext) -> Path:
    explicit = os.environ.get(REPORTS_ENV)
    if explicit:
        return Path(explicit)
    try:
        repo_reports = data_path("reports")
    except EnvironmentFault:
        return ctx.workdir / "reports"
    return repo_reports if os.access(repo_reports, os.W_OK) else ctx.workdir / "reports"


def _publish(ctx: DemoContext, key: PrivateKey) -> Path:
    release = ctx.workdir / "published" / f"{NAME}-{VERSION}"
    src = Path(ctx.values.get("release_dir", ctx.examples / "release"))
    shutil.copytree(src, release / "payload", symlinks=True)
    manifest = build_manifest(release / "payload", name=NAME, version=VERSION)
    (release / "release.json").write_bytes(manifest.to_json())
    (release / "release.json.sigstore.json").write_bytes(
        sign_digest(manifest.digest(), key).to_json()
    )
    atts = release / "attestations"
    atts.mkdir()
    verdict = ctx.values.get("sast_verdict")
    if verdict is not None:
        statement = Statement(
            (Subject("release.json", manifest.digest()),), SAST_V1, sast_predicate(verdict)
        )
        (atts / "sast.sigstore.json").write_bytes(sign_statement(statement, key).to_json())
    for name, data in ctx.values.get("release_attestations", []):
        (atts / Path(name).name).write_bytes(data)
    return release


def run(ctx: DemoContext) -> Iterator[str]:
    key = demo_key()
    pub = key.public_key()
    release = _publish(ctx, key)
    policy_text = (
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(pub)}"\n'
        f"pem = '''{public_key_pem(pub).decode()}'''\n"
    ).encode()
    (release.parent / "trust.toml").write_bytes(policy_text)
    policy = TrustPolicy.from_toml(policy_text, release.parent, "demo trust policy")
    n_att = len(list((release / "attestations").iterdir()))
    yield f"published {NAME} {VERSION}: release.json signed, {n_att} attestation(s)"

    reports = _reports_dir(ctx)
    out = reports / f"{NAME}-{VERSION}"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "example-trust.toml").write_bytes(policy_text)  # to check the report with
    built = build_report_dir(release, out, policy=policy, key=key)
    summary = built.doc["summary"]
    yield (
        f"report built from verified evidence only: {', '.join(sorted(built.files))} "
        f"+ report.json.sigstore.json"
    )
    yield (
        f"  findings: {summary['open']} open, {summary['accepted']} accepted, "
        f"{summary['fixed']} remediated; verdicts: "
        + ", ".join(f"{e['kind']} {e['verdict']}" for e in built.doc["evidence"])
    )
    again = build_report_dir(release, ctx.workdir / "report-again", policy=policy, key=key)
    same = all(
        (out / n).read_bytes() == (ctx.workdir / "report-again" / n).read_bytes()
        for n in again.files
    )
    yield f"built twice: byte-identical: {same}"
    check = verify_report_dir(out, policy, release_dir=release)
    yield f"report verify: signature by {check.signer[:16]}..., every file, re-rendered: OK"

    edited = ctx.workdir / "report-edited"
    shutil.copytree(out, edited)
    html = (edited / "index.html").read_bytes()
    (edited / "index.html").write_bytes(html.replace(b"<h1>", b"<h1>All clear! ", 1))
    try:
        verify_report_dir(edited, policy)
        raise AssertionError("an edited report verified")
    except VerdictError as exc:
        yield f"edited copy of index.html: refused — {exc.message.split(': ', 1)[1]}"
    ctx.values["report_path"] = out / "index.html"
    yield f"open it: {out / 'index.html'}"
