"""The one release check (issue 10 item 1; issue 9 items 11 and 13).

Bytes in, verdict out: the same function judges `nebsign verify --manifest`
and `nebsign agent install`, with the same errors and reason codes.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from helpers import assert_one_line_error, run_cli

import nebsign
from nebsign.agent.install import install_release
from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.errors import NebsignError
from nebsign.keys import generate_key, key_id, public_key_pem
from nebsign.policy.trust import TrustPolicy
from nebsign.release_check import (
    MissingAttestation,
    ReleaseExpired,
    ReleaseRequirements,
    RequiredAttestation,
    SignatureRejected,
    WrongRelease,
    check_attestations,
    verify_release,
)
from nebsign.signing import sign_digest, sign_statement

NOW = datetime(2030, 1, 1, tzinfo=UTC)
PROVENANCE = "https://slsa.dev/provenance/v1"


def _release(kit: ReleaseKit, version: str = "1.0.0", **kw: object) -> tuple[bytes, list, list]:
    rel = kit.build(version, **kw)  # type: ignore[arg-type]
    sigs = [("sig", (rel / "release.json.sigstore.json").read_bytes())]
    atts = [(p.name, p.read_bytes()) for p in sorted((rel / "attestations").glob("*"))]
    return (rel / "release.json").read_bytes(), sigs, atts


def _trust(kit: ReleaseKit, *, required: tuple[str, ...] = ()) -> TrustPolicy:
    base = TrustPolicy.from_keys([kit.key.public_key()])
    return TrustPolicy(base.rule, base.groups, required_predicates=required)


def test_verdict_and_requirements(kit: ReleaseKit) -> None:
    raw, sigs, atts = _release(kit)
    req = ReleaseRequirements(
        name="app", require_version=True, attestations=(RequiredAttestation(SAST_V1, "pass"),)
    )
    out = verify_release(raw, sigs, atts, _trust(kit), req, now=NOW)
    assert out.version == "1.0.0" and out.name == "app"
    assert out.signers == (key_id(kit.key.public_key()),)
    assert out.attestations == (SAST_V1,) and out.ignored == ()
    with pytest.raises(WrongRelease) as wrong:
        verify_release(raw, sigs, atts, _trust(kit), ReleaseRequirements(name="x"), now=NOW)
    assert wrong.value.reason == "wrong-release"
    with pytest.raises(MissingAttestation, match=r"found verdicts \['pass'\]"):
        req = ReleaseRequirements(attestations=(RequiredAttestation(SAST_V1, "other"),))
        verify_release(raw, sigs, atts, _trust(kit), req, now=NOW)
    with pytest.raises(SignatureRejected, match="not signed") as unsigned:
        verify_release(raw, [], atts, _trust(kit), ReleaseRequirements(), now=NOW)
    assert unsigned.value.reason == "signature"


def test_expiry_is_one_error(kit: ReleaseKit) -> None:
    raw, sigs, atts = _release(kit, expires="2020-01-01T00:00:00Z")
    with pytest.raises(ReleaseExpired, match="expired at 2020") as exc:
        verify_release(raw, sigs, atts, _trust(kit), ReleaseRequirements(), now=NOW)
    assert exc.value.reason == "expired"
    raw, sigs, atts = _release(kit, "1.0.1", expires=None)
    verify_release(raw, sigs, atts, _trust(kit), ReleaseRequirements(), now=NOW)
    with pytest.raises(ReleaseExpired, match="no expiry"):
        req = ReleaseRequirements(require_expires=True)
        verify_release(raw, sigs, atts, _trust(kit), req, now=NOW)


def test_trust_policy_required_predicates(kit: ReleaseKit) -> None:
    raw, sigs, atts = _release(kit)
    trust = _trust(kit, required=(SAST_V1,))
    assert verify_release(raw, sigs, atts, trust, ReleaseRequirements(), now=NOW).attestations
    with pytest.raises(
        MissingAttestation, match=r"no verified https://nebsign\.dev/attestation/sast"
    ):
        verify_release(raw, sigs, [], trust, ReleaseRequirements(), now=NOW)
    with pytest.raises(MissingAttestation, match=r"slsa\.dev/provenance"):
        verify_release(
            raw, sigs, atts, _trust(kit, required=(PROVENANCE,)), ReleaseRequirements(), now=NOW
        )
    # a required attestation that says no does not satisfy it
    raw, sigs, atts = _release(kit, "1.0.1", verdict="fail")
    with pytest.raises(MissingAttestation, match=r"found verdicts \['fail'\]"):
        verify_release(raw, sigs, atts, trust, ReleaseRequirements(), now=NOW)


def test_failing_extra_bundles_count_for_nothing(kit: ReleaseKit) -> None:
    raw, sigs, atts = _release(kit)
    other = generate_key()
    foreign = sign_digest("0" * 64, kit.key).to_json()
    extra = [
        ("garbage", b"{not json"),
        ("untrusted", sign_digest(_sha(raw), other).to_json()),
        ("other-artifact", foreign),
    ]
    out = verify_release(raw, [*extra, *sigs], atts, _trust(kit), ReleaseRequirements(), now=NOW)
    assert out.signers == (key_id(kit.key.public_key()),)
    assert [(i.name, i.kind) for i in out.ignored] == [
        ("garbage", "signature"),
        ("untrusted", "signature"),
        ("other-artifact", "signature"),
    ]
    assert "wrong key" in out.ignored[1].message and "tampered" in out.ignored[2].message
    bad_att = [("bad-att", b"[]"), *atts]
    out = verify_release(
        raw, sigs, bad_att, _trust(kit, required=(SAST_V1,)), ReleaseRequirements(), now=NOW
    )
    assert [(i.name, i.kind) for i in out.ignored] == [("bad-att", "attestation")]
    # only failing ones: refused, every reason named
    with pytest.raises(SignatureRejected, match=r"none of 2 bundles verifies.*garbage.*untrusted"):
        verify_release(raw, extra[:2], atts, _trust(kit), ReleaseRequirements(), now=NOW)


def _sha(raw: bytes) -> str:
    from nebsign.digest import sha256_bytes

    return sha256_bytes(raw)


def test_check_attestations_about_an_artifact(kit: ReleaseKit) -> None:
    sha = "ab" * 32
    stmt = Statement((Subject("a", sha),), SAST_V1, {"verdict": "pass"})
    att = [("a.sast", sign_statement(stmt, kit.key).to_json())]
    assert check_attestations(sha, att, _trust(kit, required=(SAST_V1,)), now=NOW)[0] == (SAST_V1,)
    with pytest.raises(MissingAttestation, match="other artifacts"):
        check_attestations("cd" * 32, att, _trust(kit, required=(SAST_V1,)), now=NOW)


def test_every_error_class_names_its_reason() -> None:
    """Reason codes are explicit class attributes, never derived from class names."""
    seen: dict[str, str] = {}
    for info in pkgutil.walk_packages(nebsign.__path__, "nebsign."):
        if info.name.startswith(("nebsign._demo", "nebsign.__main__")):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, NebsignError) and cls.__module__ == module.__name__:
                assert "reason" in vars(cls), f"{cls.__module__}.{cls.__name__} has no reason"
                code = vars(cls)["reason"]
                assert code == code.lower() and " " not in code
                seen.setdefault(f"{cls.__module__}.{cls.__name__}", code)
    assert seen["nebsign.verify.MissingAttestation"] == "missing-attestation"
    from nebsign import verify

    assert verify.MissingAttestation is MissingAttestation  # one class, not two


# --- the agent: an extra bundle that fails counts for nothing (issue 9 item 11) ---


def test_agent_installs_past_a_malformed_extra_bundle(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    (rel / "signatures" / "broken.sigstore.json").write_bytes(b"{not a bundle")
    (rel / "attestations" / "junk.sigstore.json").write_bytes(b"[]")
    out = install_release(kit.policy(), str(rel))
    assert out.status.value == "installed"
    assert [i.name.rsplit("/", 1)[-1] for i in out.ignored] == [
        "broken.sigstore.json",
        "junk.sigstore.json",
    ]
    logged = kit.log_events()[-1]
    assert logged["event"] == "installed"
    assert [i["kind"] for i in logged["ignored"]] == ["signature", "attestation"]
    rel2 = kit.build("1.1.0")
    (rel2 / "signatures").mkdir()
    (rel2 / "signatures" / "broken.sigstore.json").write_bytes(b"{not a bundle")
    r = run_cli("agent", "install", str(rel2), "--policy", str(kit.policy_path), "--format", "json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["status"] == "installed" and report["ignored"][0]["kind"] == "signature"


# --- the CLI: verify --policy enforces required_predicates (issue 9 item 13) ---


def _policy_file(kit: ReleaseKit, required: str) -> Path:
    pub = kit.key.public_key()
    path = kit.base / "trust-required.toml"
    path.write_text(
        f"version = 1\nrequired_predicates = [{required}]\n"
        f"[[keys]]\nid = \"{key_id(pub)}\"\npem = '''{public_key_pem(pub).decode()}'''\n"
    )
    return path


def test_cli_verify_policy_requires_attestations(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    policy = _policy_file(kit, f'"{SAST_V1}"')
    args = ["verify", str(rel / "release.json"), "--manifest", "--root", str(rel / "payload"),
            "--policy", str(policy)]  # fmt: skip
    ok = run_cli(*args)  # attestations/ next to the manifest is read
    assert ok.exit_code == 0, ok.stderr
    assert f"attested: {SAST_V1}" in ok.stdout
    moved = kit.base / "sast.sigstore.json"
    (rel / "attestations" / "sast.sigstore.json").rename(moved)
    missing = run_cli(*args)
    assert_one_line_error(missing, 1)
    assert "no verified https://nebsign.dev/attestation/sast/v1 attestation" in missing.stderr
    explicit = run_cli(*args, "--attestation", str(moved), "--format", "json")
    assert explicit.exit_code == 0, explicit.stderr
    assert json.loads(explicit.stdout)["results"][0]["attestations"] == [SAST_V1]
    says_no = kit.build("1.0.1", verdict="fail")
    r = run_cli("verify", str(says_no / "release.json"), "--manifest", "--root",
                str(says_no / "payload"), "--policy", str(policy))  # fmt: skip
    assert_one_line_error(r, 1)
    assert "found verdicts ['fail']" in r.stderr


def test_cli_verify_artifact_with_required_attestation(kit: ReleaseKit) -> None:
    art = kit.base / "app.tar.gz"
    art.write_bytes(b"app")
    key = kit.base / "k.key"
    from nebsign.keys import private_key_pem

    key.write_bytes(private_key_pem(kit.key, None))
    assert run_cli("sign", str(art), "--key", str(key)).exit_code == 0
    pred = kit.base / "pred.json"
    pred.write_text('{"verdict": "pass"}')
    att = kit.base / "app.sast.sigstore.json"
    made = run_cli("attest", "create", "--type", "sast", "--predicate", str(pred),
                   "--subject", str(art), "--key", str(key), "-o", str(att))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    policy = _policy_file(kit, f'"{SAST_V1}"')
    assert_one_line_error(run_cli("verify", str(art), "--policy", str(policy)), 1)
    ok = run_cli("verify", str(art), "--policy", str(policy), "--attestation", str(att))
    assert ok.exit_code == 0, ok.stderr


def test_cli_verify_manifest_ignores_a_failing_extra_bundle(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    (rel / "signatures" / "broken.sigstore.json").write_bytes(b"{not a bundle")
    pub = kit.base / "k.pub"
    pub.write_bytes(public_key_pem(kit.key.public_key()))
    r = run_cli("verify", str(rel / "release.json"), "--manifest", "--root",
                str(rel / "payload"), "--key", str(pub))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "ignored signature bundle" in r.stderr and "broken.sigstore.json" in r.stderr


def test_cli_verify_manifest_reads_signatures_dir(kit: ReleaseKit) -> None:
    """The release layout's signatures/ counts, with or without release.json.sigstore.json."""
    second = generate_key()
    kit.write_policy(threshold=2, extra_keys=(second,))
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    digest = _sha((rel / "release.json").read_bytes())
    (rel / "signatures" / "qa.sigstore.json").write_bytes(sign_digest(digest, second).to_json())
    policy = kit.conf / "trust.toml"
    args = ["verify", str(rel / "release.json"), "--manifest", "--root", str(rel / "payload"),
            "--policy", str(policy)]  # fmt: skip
    ok = run_cli(*args)
    assert ok.exit_code == 0, ok.stderr
    (rel / "release.json.sigstore.json").rename(rel / "signatures" / "main.sigstore.json")
    moved = run_cli(*args)
    assert moved.exit_code == 0, moved.stderr
    (rel / "signatures" / "qa.sigstore.json").unlink()
    one = run_cli(*args)
    assert_one_line_error(one, 1)
    assert "1 of 2 required" in one.stderr
