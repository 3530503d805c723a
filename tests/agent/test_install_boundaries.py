"""agent install at its boundaries, in-process (docs/mutants.md).

Each decision is asserted with its exact outcome: the message, the audit-log
entry, the state, what ``current`` points to.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentkit import ReleaseKit

from nebsign._internal.canonical import canonical_json
from nebsign.agent.install import (
    Downgrade,
    HealthCheckFailed,
    InstallStatus,
    MixAndMatch,
    WrongManifest,
    _age,
    install_in_session,
    install_release,
    prune,
)
from nebsign.agent.rollback import rollback
from nebsign.agent.session import open_session
from nebsign.agent.state import load_state
from nebsign.errors import InputError, NebsignError
from nebsign.keys import generate_key
from nebsign.manifest import Manifest
from nebsign.signing import sign_digest

WHEN = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


def _sha(rel: Path) -> str:
    return hashlib.sha256((rel / "release.json").read_bytes()).hexdigest()


def test_installed_outcome_record_and_log(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    steps: list[str] = []
    out = install_release(kit.policy(), str(rel), now=WHEN, step=steps.append)
    assert out.status is InstallStatus.INSTALLED and out.previous is None
    rec = out.record
    assert (rec.version, rec.name, rec.manifest_sha256) == ("1.0.0", "app", _sha(rel))
    assert rec.installed_at == "2030-05-06T07:08:09Z"
    assert rec.tree_sha256 is None and rec.signers and rec.attestations
    assert out.to_dict() == {
        "status": "installed",
        "previous": None,
        **rec.to_dict(),
        "ignored": [],
    }
    assert load_state(kit.root / "state.json").releases == (rec,)
    order = [
        "recovered",
        "checked-version",
        "marked-complete",
        "moved-into-releases",
        "health-checked",
        "logged-installed",
        "state-saved",
    ]
    assert [s for s in steps if s in order] == order
    last = kit.log_events()[-1]
    assert last["event"] == "installed" and last["previous"] is None
    assert last["source"] == str(rel) and last["version"] == "1.0.0"
    assert last["manifest"] == f"sha256:{_sha(rel)}" and "ignored" not in last
    meta = kit.root / "releases" / "1.0.0" / "meta"
    assert (meta / "COMPLETE").read_bytes() == b""
    assert (meta / "record.json").read_bytes() == canonical_json(rec.to_dict())


def test_already_installed_outcome(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    first = install_release(kit.policy(), str(rel))
    install_release(kit.policy(), str(kit.build("1.1.0")))
    out = install_release(kit.policy(), str(rel))
    assert out.status is InstallStatus.ALREADY_INSTALLED
    assert out.record == first.record and out.previous == "1.1.0"
    assert out.to_dict()["status"] == "already-installed"
    assert len(kit.log_events()) == 2


def test_ignored_bundles_are_reported_and_logged(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    digest = Manifest.from_json((rel / "release.json").read_bytes()).digest()
    (rel / "signatures" / "stranger.sigstore.json").write_bytes(
        sign_digest(digest, generate_key()).to_json()
    )
    out = install_release(kit.policy(), str(rel))
    assert len(out.ignored) == 1
    ignored = out.ignored[0]
    assert ignored.kind == "signature" and "stranger.sigstore.json" in ignored.name
    assert out.to_dict()["ignored"] == [ignored.to_dict()]
    assert kit.log_events()[-1]["ignored"] == [ignored.to_dict()]
    again = install_release(kit.policy(), str(rel))
    assert again.status is InstallStatus.ALREADY_INSTALLED and again.ignored == out.ignored


def test_mix_and_match_message(kit: ReleaseKit) -> None:
    first = kit.build("1.0.0")
    install_release(kit.policy(), str(first))
    other = kit.build("1.0.0", {"bin/app": b"other\n"}, dest=kit.base / "other")
    with pytest.raises(MixAndMatch) as info:
        install_release(kit.policy(), str(other))
    assert info.value.exit_code == 1
    assert info.value.message == (
        f"release {other}: version 1.0.0 is already installed with different content "
        f"(manifest sha256:{_sha(first)[:16]}..., offered sha256:{_sha(other)[:16]}...): "
        "mix-and-match refused"
    )
    last = kit.log_events()[-1]
    assert last == {
        **last,
        "event": "refused",
        "reason": "mix-and-match",
        "message": info.value.message,
        "source": str(other),
        "version": "1.0.0",
    }


def test_the_highest_version_itself_is_not_newer_once_pruned(kit: ReleaseKit) -> None:
    # 1.1.0 is the floor but no longer installed: offering 1.1.0 again is a downgrade
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    install_release(policy, str(kit.build("1.1.0")))
    rollback(kit.root)
    with open_session(kit.root) as session:
        prune(session, 0)  # nothing older than current 1.0.0: 1.1.0 goes
    state = load_state(kit.root / "state.json")
    assert [r.version for r in state.releases] == ["1.0.0"] and state.highest == "1.1.0"
    rel = kit.build("1.1.0", {"bin/app": b"rebuilt\n"})
    with pytest.raises(Downgrade) as info:
        install_release(policy, str(rel))
    assert info.value.message == (
        f"release {rel}: version 1.1.0 is not newer than 1.1.0, the newest ever "
        "installed: downgrade refused"
    )
    assert info.value.hint == (
        "to go back to an installed release use `nebsign agent rollback --to VERSION`"
    )
    install_release(policy, str(kit.build("1.1.1-rc.1")))  # newer: installs
    assert kit.current_payload() == b"app 1.1.1-rc.1\n"


def test_a_refusal_before_the_version_is_known_logs_no_version(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "release.json.sigstore.json").unlink()
    with pytest.raises(Exception):  # noqa: B017 - the reason is asserted below
        install_release(kit.policy(), str(rel))
    last = kit.log_events()[-1]
    assert last["event"] == "refused" and last["reason"] == "signature"
    assert "version" not in last and last["source"] == str(rel)


def test_identical_refusals_are_logged_once_and_a_different_one_again(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.1.0")))
    low = kit.build("1.0.0")
    for _ in range(3):
        with pytest.raises(Downgrade):
            install_release(kit.policy(), str(low))
    events = kit.log_events()
    assert [e["event"] for e in events] == ["installed", "refused"]
    with pytest.raises(Downgrade):
        install_release(kit.policy(), str(kit.build("1.0.1")))
    with pytest.raises(Downgrade):
        install_release(kit.policy(), str(low))
    refused = [e["version"] for e in kit.log_events() if e["event"] == "refused"]
    assert refused == ["1.0.0", "1.0.1", "1.0.0"]


def test_age_of_a_log_time() -> None:
    assert _age("not a time") == float("inf")
    assert 0 <= _age(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")) < 120
    assert _age("2020-01-01T00:00:00Z") > 3600 * 24 * 365


def _session_install(kit: ReleaseKit, rel: Path, **kw: object) -> object:
    policy = kit.policy()
    with open_session(policy.root, create=True) as session:
        return install_in_session(session, policy, str(rel), **kw)  # type: ignore[arg-type]


def test_channel_digest_must_match_and_only_then_may_a_downgrade_install(kit: ReleaseKit) -> None:
    _session_install(kit, kit.build("1.1.0"))
    low = kit.build("1.0.0")
    wrong = "ab" * 32
    with pytest.raises(WrongManifest) as info:
        _session_install(kit, low, expect_sha256=wrong, authorized_downgrade=True)
    assert info.value.message == (
        f"release {low}: release.json is sha256:{_sha(low)[:16]}..., "
        f"the channel statement names sha256:{wrong[:16]}...: refused"
    )
    assert kit.log_events()[-1]["reason"] == "wrong-manifest"
    with pytest.raises(Downgrade):  # authorized, but no digest named: not enough
        _session_install(kit, low, authorized_downgrade=True)
    with pytest.raises(Downgrade):  # a digest but no authorization
        _session_install(kit, low, expect_sha256=_sha(low))
    out = _session_install(kit, low, expect_sha256=_sha(low), authorized_downgrade=True)
    assert out.status is InstallStatus.INSTALLED  # type: ignore[attr-defined]
    assert kit.current_payload() == b"app 1.0.0\n"
    assert load_state(kit.root / "state.json").highest == "1.1.0"


def _hook(tmp_path: Path, name: str, body: str) -> str:
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_health_check_sees_the_release_and_its_failure_is_recorded(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    hook = _hook(
        tmp_path,
        "check.sh",
        f'echo "$NEBSIGN_RELEASE_DIR $NEBSIGN_RELEASE_VERSION" >> {seen}\n'
        'echo "checked $NEBSIGN_RELEASE_VERSION"\n[ "$NEBSIGN_RELEASE_VERSION" = 1.0.0 ]',
    )
    kit.extra_policy = f'[hooks]\nhealth_check = ["{hook}"]\nhealth_timeout = 30\n'
    kit.write_policy()
    install_release(kit.policy(), str(kit.build("1.0.0")))
    rel = kit.build("1.1.0")
    with pytest.raises(HealthCheckFailed) as info:
        install_release(kit.policy(), str(rel))
    assert info.value.message == (
        f"release {rel}: health check {hook} exited 1; current stays at 1.0.0"
    )
    assert seen.read_text().splitlines() == [
        f"{kit.root / 'releases' / '1.0.0'} 1.0.0",
        f"{kit.root / 'releases' / '1.1.0'} 1.1.0",
    ]
    last = kit.log_events()[-1]
    assert last["event"] == "health-check-failed"  # and no "refused" line after it
    assert (last["version"], last["message"]) == ("1.1.0", info.value.message)
    assert last["output"] == "checked 1.1.0\n"
    assert not (kit.root / "releases" / "1.1.0").exists()
    assert load_state(kit.root / "state.json").highest == "1.0.0"


def test_post_switch_hook_runs_after_the_switch_and_its_failure_is_recorded(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    hook = _hook(
        tmp_path,
        "post.sh",
        f'readlink "$NEBSIGN_RELEASE_DIR/../../current" > {seen}\n'
        f'echo "$NEBSIGN_RELEASE_DIR $NEBSIGN_RELEASE_VERSION" >> {seen}\necho bye\nexit 4',
    )
    kit.extra_policy = f'[hooks]\npost_switch = ["{hook}"]\npost_timeout = 30\n'
    kit.write_policy()
    steps: list[str] = []
    out = install_release(kit.policy(), str(kit.build("1.0.0")), step=steps.append)
    assert out.status is InstallStatus.INSTALLED
    assert seen.read_text() == f"releases/1.0.0\n{kit.root / 'releases' / '1.0.0'} 1.0.0\n"
    assert steps.index("state-saved") < steps.index("logged-post-switch-failed")
    assert steps.index("logged-post-switch-failed") < steps.index("post-switch")
    last = kit.log_events()[-1]
    assert last["event"] == "post-switch-failed"
    assert (last["version"], last["message"], last["output"]) == (
        "1.0.0",
        f"{hook} exited 4",
        "bye\n",
    )


def test_post_switch_hook_timeout_is_recorded(kit: ReleaseKit, tmp_path: Path) -> None:
    hook = _hook(tmp_path, "slow.sh", "sleep 20")
    kit.extra_policy = f'[hooks]\npost_switch = ["{hook}"]\npost_timeout = 0.3\n'
    kit.write_policy()
    install_release(kit.policy(), str(kit.build("1.0.0")))
    last = kit.log_events()[-1]
    assert (last["event"], last["message"]) == ("post-switch-failed", f"{hook} timed out")


def test_passing_hooks_leave_only_the_installed_line(kit: ReleaseKit) -> None:
    kit.extra_policy = '[hooks]\nhealth_check = ["/bin/true"]\npost_switch = ["/bin/true"]\n'
    kit.write_policy()
    install_release(kit.policy(), str(kit.build("1.0.0")))
    assert [e["event"] for e in kit.log_events()] == ["installed"]


def test_prune_keeps_exactly_keep_and_protects_current_and_previous(kit: ReleaseKit) -> None:
    kit.keep = 2
    kit.write_policy()
    policy = kit.policy()
    for v in ("1.0.0", "1.1.0"):
        install_release(policy, str(kit.build(v)))
    assert [e["event"] for e in kit.log_events()] == ["installed", "installed"]
    install_release(policy, str(kit.build("1.2.0")))
    last = kit.log_events()[-1]
    assert last["event"] == "pruned" and last["versions"] == ["1.0.0"]
    assert sorted(p.name for p in (kit.root / "releases").iterdir()) == ["1.1.0", "1.2.0"]
    # rolled back to 1.1.0 (nothing older left): keep 1 keeps 1.2.0, the newest
    rollback(kit.root)
    with open_session(kit.root) as session:
        steps: list[str] = []
        session.step = steps.append
        prune(session, 1)
        assert steps == []  # 1.2.0 is within keep, 1.1.0 is current: nothing to drop
    assert sorted(p.name for p in (kit.root / "releases").iterdir()) == ["1.1.0", "1.2.0"]
    install_release(policy, str(kit.build("1.3.0")))
    # current 1.3.0, previous 1.2.0 (protected), keep 2: 1.1.0 goes
    assert kit.log_events()[-1]["versions"] == ["1.1.0"]


def test_prune_drops_the_oldest_by_version_order(kit: ReleaseKit) -> None:
    policy = kit.policy()
    for v in ("1.9.0", "1.10.0", "1.11.0", "1.12.0"):
        install_release(policy, str(kit.build(v)))
    state = load_state(kit.root / "state.json")
    assert [r.version for r in state.releases] == ["1.10.0", "1.11.0", "1.12.0"]
    with open_session(kit.root) as session:
        steps: list[str] = []
        session.step = steps.append
        prune(session, 1)
        assert steps == ["logged-pruned", "pruned-state", "pruned"]
        assert session.log.last is not None and session.log.last.details["versions"] == ["1.10.0"]
    assert not os.path.exists(kit.root / "releases" / "1.10.0")
    assert load_state(kit.root / "state.json").current == "1.12.0"


def test_a_refusal_that_cannot_be_logged_says_both(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.1.0")))
    log = kit.root / "audit.log"

    def break_log(step: str) -> None:
        if step == "verified-metadata":  # after the log was verified, before the refusal
            log.rename(kit.root / "audit.log.moved")
            log.mkdir()

    rel = kit.build("1.0.0")
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(rel), step=break_log)
    assert not isinstance(info.value, Downgrade)
    assert info.value.exit_code == 2  # the log's fault decides the kind (here: a directory)
    assert info.value.message.startswith(
        f"release {rel}: version 1.0.0 is not newer than 1.1.0, the newest ever installed: "
        f"downgrade refused; and the refusal could not be logged: cannot append to {log}"
    ), info.value.message
    assert isinstance(info.value.__cause__, Downgrade)


def test_a_malformed_url_is_refused_before_anything_is_created(kit: ReleaseKit) -> None:
    url = "http://127.0.0.1:0/release"
    with pytest.raises(InputError) as info:
        install_release(kit.policy(), url)
    assert info.value.message == f"invalid URL {url!r}: port 0"
    assert not kit.root.exists()


def test_the_release_is_staged_privately_under_staging(kit: ReleaseKit) -> None:
    seen: list[list[str]] = []

    def look(step: str) -> None:
        if step == "checked-version":
            seen.append(sorted(os.listdir(kit.root / "staging")))

    install_release(kit.policy(), str(kit.build("1.0.0")), step=look)
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith("install-")
    assert os.listdir(kit.root / "staging") == []


def _plant(path: Path, as_dir: bool) -> Callable[[str], None]:
    """Create *path* after recovery ran, just before the move (a leftover it did not own)."""

    def step(name: str) -> None:
        if name == "marked-complete":
            if as_dir:
                path.mkdir()
                (path / "junk").write_bytes(b"old")
            else:
                path.write_bytes(b"in the way")

    return step


def test_a_leftover_release_directory_is_replaced(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0")))
    target = kit.root / "releases" / "1.1.0"
    install_release(kit.policy(), str(kit.build("1.1.0")), step=_plant(target, True))
    assert sorted(os.listdir(target)) == ["meta", "payload"]
    assert kit.current_payload() == b"app 1.1.0\n"


def test_a_file_where_the_release_directory_goes_is_an_io_refusal(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0")))
    target = kit.root / "releases" / "1.1.0"
    with pytest.raises(InputError) as info:
        install_release(kit.policy(), str(kit.build("1.1.0")), step=_plant(target, False))
    assert info.value.message == f"cannot install {target}: Not a directory"
    assert kit.current_payload() == b"app 1.0.0\n"


def test_a_health_check_that_removed_the_release_still_fails_cleanly(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    hook = _hook(tmp_path, "rm.sh", 'rm -rf "$NEBSIGN_RELEASE_DIR"\nexit 1')
    kit.extra_policy = f'[hooks]\nhealth_check = ["{hook}"]\n'
    kit.write_policy()
    with pytest.raises(HealthCheckFailed):
        install_release(kit.policy(), str(kit.build("1.0.0")))
    assert kit.log_events()[-1]["event"] == "health-check-failed"


def test_pruning_a_release_directory_that_is_already_gone(kit: ReleaseKit) -> None:
    kit.keep = 2
    kit.write_policy()
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    install_release(policy, str(kit.build("1.1.0")))
    shutil.rmtree(kit.root / "releases" / "1.0.0")
    install_release(policy, str(kit.build("1.2.0")))
    last = kit.log_events()[-1]
    assert last["event"] == "pruned" and last["versions"] == ["1.0.0"]
    assert sorted(os.listdir(kit.root / "releases")) == ["1.1.0", "1.2.0"]


def test_a_refusal_leaves_nothing_in_staging(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.1.0")))
    with pytest.raises(Downgrade):
        install_release(kit.policy(), str(kit.build("1.0.0")))
    assert os.listdir(kit.root / "staging") == []


def test_a_failure_after_the_switch_says_the_release_is_live(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0")))
    log = kit.root / "audit.log"

    def break_log(step: str) -> None:
        if step == "link-switched":  # current points to the new release; the log line is next
            log.rename(kit.root / "audit.log.moved")
            log.mkdir()

    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(kit.build("1.1.0")), step=break_log)
    assert info.value.exit_code == 2
    assert info.value.message.startswith(
        "release 1.1.0 is installed and live (current -> releases/1.1.0), but "
    ), info.value.message
    assert f"cannot append to {log}" in info.value.message
    assert info.value.hint == "the next agent command records it in the audit log and state.json"
    assert kit.current_payload() == b"app 1.1.0\n"
