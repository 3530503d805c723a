"""Install, version rules and the attack suite: each refused with a distinct message."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.agent.auditlog import verify_log
from nebsign.agent.install import InstallStatus, install_release
from nebsign.agent.state import load_state
from nebsign.errors import NebsignError
from nebsign.keys import generate_key


def test_install_then_upgrade(kit: ReleaseKit) -> None:
    policy = kit.policy()
    out = install_release(policy, str(kit.build("1.0.0")))
    assert out.status is InstallStatus.INSTALLED
    assert kit.current_payload() == b"app 1.0.0\n"
    out2 = install_release(policy, str(kit.build("1.1.0")))
    assert out2.previous == "1.0.0"
    assert kit.current_payload() == b"app 1.1.0\n"
    assert os.readlink(kit.root / "current") == "releases/1.1.0"
    state = load_state(kit.root / "state.json")
    assert state.current == "1.1.0" and state.highest == "1.1.0"
    assert [r.version for r in state.releases] == ["1.0.0", "1.1.0"]
    assert state.releases[0].signers and state.releases[0].attestations
    events = [e["event"] for e in kit.log_events()]
    assert events == ["installed", "installed"]
    verify_log(kit.root / "audit.log", state.log)


def test_same_release_again_is_a_no_op(kit: ReleaseKit) -> None:
    policy = kit.policy()
    rel = kit.build("1.0.0")
    install_release(policy, str(rel))
    out = install_release(policy, str(rel))
    assert out.status is InstallStatus.ALREADY_INSTALLED
    assert len(kit.log_events()) == 1


def test_symlinks_recreated_from_manifest(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"bin/app": b"x"}, symlinks={"start": "bin/app"})
    install_release(kit.policy(), str(rel))
    assert os.readlink(kit.root / "current" / "payload" / "start") == "bin/app"


def test_keep_last_n(kit: ReleaseKit) -> None:
    policy = kit.policy()
    for minor in range(5):
        install_release(policy, str(kit.build(f"1.{minor}.0")))
    state = load_state(kit.root / "state.json")
    assert [r.version for r in state.releases] == ["1.2.0", "1.3.0", "1.4.0"]
    assert sorted(p.name for p in (kit.root / "releases").iterdir()) == [
        "1.2.0",
        "1.3.0",
        "1.4.0",
    ]
    assert "pruned" in [e["event"] for e in kit.log_events()]


def _refused(kit: ReleaseKit, location: str, code: int) -> str:
    before = len(kit.log_events()) if (kit.root / "audit.log").exists() else 0
    current = os.readlink(kit.root / "current") if (kit.root / "current").exists() else None
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), location)
    assert info.value.exit_code == code, info.value.message
    events = kit.log_events()
    assert len(events) == before + 1
    assert events[-1]["event"] == "refused"
    assert events[-1]["message"] == info.value.message
    now = os.readlink(kit.root / "current") if (kit.root / "current").exists() else None
    assert now == current
    assert not list((kit.root / "staging").iterdir())
    state = load_state(kit.root / "state.json")
    verify_log(kit.root / "audit.log", state.log)
    return info.value.message


def _attack_messages(kit: ReleaseKit) -> dict[str, str]:
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    install_release(policy, str(kit.build("1.1.0")))
    msgs: dict[str, str] = {}

    rel = kit.build("1.2.0")
    (rel / "payload" / "bin" / "app").write_bytes(b"evil 1.2.\n")
    msgs["tampered"] = _refused(kit, str(rel), 1)

    rel = kit.build("1.2.0", key=generate_key())
    msgs["untrusted"] = _refused(kit, str(rel), 1)

    rel = kit.build("1.2.0")
    other = kit.build("1.2.0", {"bin/app": b"other\n"}, dest=kit.base / "other")
    shutil.copy(other / "release.json.sigstore.json", rel / "release.json.sigstore.json")
    msgs["wrong-artifact"] = _refused(kit, str(rel), 1)

    msgs["downgrade"] = _refused(kit, str(kit.build("1.0.5")), 1)
    msgs["expired"] = _refused(kit, str(kit.build("1.2.0", expires="2020-01-01T00:00:00Z")), 1)
    msgs["mix-and-match"] = _refused(kit, str(kit.build("1.1.0", {"bin/app": b"changed\n"})), 1)
    msgs["no-attestation"] = _refused(kit, str(kit.build("1.2.0", attest=False)), 1)
    msgs["failed-attestation"] = _refused(kit, str(kit.build("1.2.0", verdict="fail")), 1)
    msgs["unsigned"] = _refused(kit, str(_unsigned(kit.build("1.2.0"))), 1)
    msgs["wrong-name"] = _refused(kit, str(kit.build("1.2.0", name="other")), 1)
    return msgs


def _unsigned(rel: Path) -> Path:
    (rel / "release.json.sigstore.json").unlink()
    return rel


def test_attack_suite_distinct_messages(kit: ReleaseKit) -> None:
    msgs = _attack_messages(kit)
    assert "tampered artifact" in msgs["tampered"]
    assert "downgrade refused" in msgs["downgrade"]
    assert "expired" in msgs["expired"]
    assert "mix-and-match" in msgs["mix-and-match"]
    assert "no verified" in msgs["no-attestation"]
    assert "found verdicts ['fail']" in msgs["failed-attestation"]
    assert "not signed" in msgs["unsigned"]
    assert "signatures on release.json rejected" in msgs["untrusted"]
    assert "signatures on release.json rejected" in msgs["wrong-artifact"]
    assert len(set(msgs.values())) == len(msgs), msgs
    reasons = [e.get("reason") for e in kit.log_events() if e["event"] == "refused"]
    assert reasons == [
        "artifact-mismatch",
        "signature",
        "signature",
        "downgrade",
        "expired",
        "mix-and-match",
        "missing-attestation",
        "missing-attestation",
        "signature",
        "wrong-release",
    ]
    assert kit.current_payload() == b"app 1.1.0\n"


def test_oversized_payload_file_refused(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0")))
    rel = kit.build("1.1.0", {"big.bin": b"a" * 1000})
    (rel / "payload" / "big.bin").write_bytes(b"a" * 5000)  # more than the signed size
    msg = _refused(kit, str(rel), 2)
    assert "oversized download refused" in msg
    assert kit.log_events()[-1]["reason"] == "oversized"


def test_release_larger_than_host_limit_refused(kit: ReleaseKit) -> None:
    kit.extra_policy = "[limits]\nmax_release_bytes = 100\n"
    kit.write_policy()
    msg = _refused(kit, str(kit.build("1.0.0", {"big.bin": b"a" * 1000})), 2)
    assert "exceeds the host limit" in msg


def test_swap_after_read_installs_verified_bytes(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"bin/app": b"good\n", "lib/z": b"zzz\n"})
    src = rel / "payload" / "bin" / "app"

    def swap(step: str) -> None:
        if step == "staged-first-file":
            src.write_bytes(b"EVIL\n")  # the source changes right after the agent read it

    install_release(kit.policy(), str(rel), step=swap)
    assert src.read_bytes() == b"EVIL\n"
    assert kit.current_payload() == b"good\n"


def test_policy_writable_by_others_refused(kit: ReleaseKit) -> None:
    os.chmod(kit.policy_path, 0o666)
    with pytest.raises(NebsignError) as info:
        kit.policy()
    assert info.value.exit_code == 2
    assert "writable by group or others" in info.value.message
    os.chmod(kit.policy_path, 0o644)
    os.chmod(kit.conf / "trust.toml", 0o664)
    with pytest.raises(NebsignError) as info:
        kit.policy()
    assert info.value.exit_code == 2


def test_k_of_n_threshold(kit: ReleaseKit) -> None:
    second = generate_key()
    kit.write_policy(threshold=2, extra_keys=(second,))
    rel = kit.build("1.0.0")
    msg = _refused(kit, str(rel), 1)
    assert "signatures on release.json rejected" in msg
    from nebsign.manifest import Manifest
    from nebsign.signing import sign_digest

    (rel / "signatures").mkdir()
    digest = Manifest.from_json((rel / "release.json").read_bytes()).digest()
    (rel / "signatures" / "second.sigstore.json").write_bytes(sign_digest(digest, second).to_json())
    out = install_release(kit.policy(), str(rel))
    assert len(out.record.signers) == 2


def test_health_check_failure_keeps_current(kit: ReleaseKit, tmp_path: Path) -> None:
    script = tmp_path / "check.sh"
    script.write_text('#!/bin/sh\ngrep -q "1.0.0" "$NEBSIGN_RELEASE_DIR/payload/bin/app"\n')
    script.chmod(0o755)
    kit.extra_policy = f'[hooks]\nhealth_check = ["{script}"]\nhealth_timeout = 10\n'
    kit.write_policy()
    install_release(kit.policy(), str(kit.build("1.0.0")))
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(kit.build("1.1.0")))
    assert info.value.exit_code == 1  # a verdict on the release, not bad input
    assert "health check" in info.value.message
    assert kit.current_payload() == b"app 1.0.0\n"
    assert not (kit.root / "releases" / "1.1.0").exists()
    assert kit.log_events()[-1]["event"] == "health-check-failed"


def test_health_check_timeout(kit: ReleaseKit, tmp_path: Path) -> None:
    script = tmp_path / "slow.sh"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    kit.extra_policy = f'[hooks]\nhealth_check = ["{script}"]\nhealth_timeout = 0.5\n'
    kit.write_policy()
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(kit.build("1.0.0")))
    assert info.value.exit_code == 1
    assert "timed out" in info.value.message
    assert not (kit.root / "current").exists()


def test_ecdsa_p256_signer(tmp_path: Path) -> None:
    from nebsign.keys import KeyKind

    kit = ReleaseKit(tmp_path / "p256", key=generate_key(KeyKind.ECDSA_P256))
    out = install_release(kit.policy(), str(kit.build("1.0.0")))
    assert out.status is InstallStatus.INSTALLED


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=600), which=st.sampled_from(["manifest", "bundle", "attestation"]))
def test_garbage_metadata_never_installs(kit: ReleaseKit, raw: bytes, which: str) -> None:
    rel = kit.build("1.0.0")
    target = {
        "manifest": rel / "release.json",
        "bundle": rel / "release.json.sigstore.json",
        "attestation": rel / "attestations" / "sast.sigstore.json",
    }[which]
    target.write_bytes(raw)
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(rel))
    assert info.value.exit_code in (1, 2)
    assert not (kit.root / "current").exists()
