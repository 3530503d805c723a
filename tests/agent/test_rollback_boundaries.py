"""Rollback and the downgrade floor at their boundaries, in-process (docs/mutants.md).

mutmut only sees tests that call the library in-process; every check here is
asserted with the exact outcome it must have, not only that something was raised.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from agentkit import ReleaseKit

from nebsign.agent.install import Downgrade, InstallStatus, install_release
from nebsign.agent.layout import AgentLayout
from nebsign.agent.rollback import (
    CorruptRelease,
    NothingToRollBack,
    agent_status,
    recheck_release,
    rollback,
)
from nebsign.agent.state import load_state
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.policy.host import HookSpec


def _installed(kit: ReleaseKit, *versions: str) -> None:
    policy = kit.policy()
    for v in versions:
        install_release(policy, str(kit.build(v, {"bin/app": f"{v}\n".encode()})))


def test_after_a_rollback_an_install_below_the_highest_ever_is_refused(kit: ReleaseKit) -> None:
    # issue 15: the floor is the highest version ever installed, not the current one
    _installed(kit, "1.0.0", "1.1.0")
    rollback(kit.root)
    assert load_state(kit.root / "state.json").current == "1.0.0"
    with pytest.raises(Downgrade) as info:
        install_release(kit.policy(), str(kit.build("1.0.5")))
    assert info.value.exit_code == 1
    assert "version 1.0.5 is not newer than 1.1.0, the newest ever installed" in str(
        info.value.message
    )
    assert kit.current_payload() == b"1.0.0\n"
    assert not (kit.root / "releases" / "1.0.5").exists()
    last = kit.log_events()[-1]
    assert last["event"] == "refused" and last["reason"] == "downgrade"
    assert last["version"] == "1.0.5"
    # the same version as the highest (new content) is mix-and-match, one above installs
    out = install_release(kit.policy(), str(kit.build("1.1.1")))
    assert out.status is InstallStatus.INSTALLED and out.previous == "1.0.0"


def test_a_version_equal_to_the_highest_but_not_installed_is_a_downgrade(kit: ReleaseKit) -> None:
    # 1.1.0 pruned from releases but still the highest: installing it again is refused
    _installed(kit, "1.0.0", "1.1.0")
    state = load_state(kit.root / "state.json")
    assert state.highest == "1.1.0"
    with pytest.raises(Downgrade, match=r"not newer than 1\.1\.0"):
        install_release(kit.policy(), str(kit.build("1.1.0-rc.1")))


def test_rollback_refusals_say_why(kit: ReleaseKit) -> None:
    _installed(kit, "1.0.0")
    with pytest.raises(NothingToRollBack) as info:
        rollback(kit.root)
    assert info.value.message == "cannot roll back: no older release"
    assert info.value.exit_code == 2
    with pytest.raises(NothingToRollBack) as info:
        rollback(kit.root, "0.9.0")
    assert info.value.message == "cannot roll back: version 0.9.0 is not installed"
    with pytest.raises(NothingToRollBack) as info:
        rollback(kit.root, "1.0.0")
    assert info.value.message == "cannot roll back: 1.0.0 is already current"
    assert os.readlink(kit.root / "current") == "releases/1.0.0"


def _tgz(files: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _two(kit: ReleaseKit) -> Path:
    policy = kit.policy()
    for v in ("1.0.0", "1.1.0"):
        files = {"bin/app": f"{v}\n".encode(), "lib/x": b"x" + v.encode()}
        install_release(policy, str(kit.build(v, files)))
    return kit.root / "releases" / "1.0.0"


def _refusal(kit: ReleaseKit) -> str:
    with pytest.raises(CorruptRelease) as info:
        rollback(kit.root)
    assert info.value.exit_code == 1
    assert os.readlink(kit.root / "current") == "releases/1.1.0"
    last = kit.log_events()[-1]
    assert last["event"] == "rollback-refused"
    assert last["version"] == "1.0.0" and last["reason"] == "corrupt-release"
    assert last["message"] == info.value.message
    return info.value.message


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("edit", "1 changed, 0 missing, 0 extra files (first: payload/lib/x)"),
        ("delete", "0 changed, 1 missing, 0 extra files (first: payload/bin/app)"),
        ("add", "0 changed, 0 missing, 1 extra files (first: payload/zz-backdoor)"),
    ],
)
def test_corrupted_payload_refusal_names_the_counts_and_first_file(
    kit: ReleaseKit, damage: str, says: str
) -> None:
    old = _two(kit)
    if damage == "edit":
        (old / "payload" / "lib" / "x").write_bytes(b"X1")
    elif damage == "delete":
        (old / "payload" / "bin" / "app").unlink()
    else:
        (old / "payload" / "zz-backdoor").write_bytes(b"evil")
    assert _refusal(kit) == f"release 1.0.0 ({old}) is corrupted: {says}; refusing to roll back"


def test_missing_or_linked_release_dir_refused(kit: ReleaseKit, tmp_path: Path) -> None:
    old = _two(kit)
    moved = tmp_path / "moved"
    old.rename(moved)
    old.symlink_to(moved)
    assert _refusal(kit) == (
        f"release 1.0.0 ({old}) is missing or a symbolic link; refusing to roll back to it"
    )


def test_unreadable_or_changed_stored_manifest_refused(kit: ReleaseKit) -> None:
    old = _two(kit)
    manifest = old / "meta" / "release.json"
    good = manifest.read_bytes()
    manifest.unlink()
    manifest.mkdir()
    assert _refusal(kit) == (
        f"release 1.0.0 ({old}): stored manifest unreadable: stored manifest {manifest}: "
        "is a directory"
    )
    manifest.rmdir()
    manifest.write_bytes(good + b" ")
    assert _refusal(kit) == (
        f"release 1.0.0 ({old}): stored release.json no longer has the verified digest; "
        "refusing to roll back"
    )


def test_recheck_names_the_stored_manifest_when_it_does_not_parse(kit: ReleaseKit) -> None:
    # a record whose digest matches bytes that are no manifest (only a forged state could)
    old = _two(kit)
    raw = b"not a manifest"
    (old / "meta" / "release.json").write_bytes(raw)
    record = replace(
        load_state(kit.root / "state.json").releases[0], manifest_sha256=sha256_bytes(raw)
    )
    with pytest.raises(InputError) as info:
        recheck_release(AgentLayout(kit.root), record)
    assert info.value.message == "stored manifest: not valid JSON (Expecting value at line 1)"


def _unpacked_two(kit: ReleaseKit) -> Path:
    kit.extra_policy = "[unpack]\nenabled = true\n"
    kit.write_policy()
    policy = kit.policy()
    for v in ("1.0.0", "1.1.0"):
        files = {"dist/app.tar.gz": _tgz({"app/run": f"run {v}\n".encode()})}
        install_release(policy, str(kit.build(v, files)))
    old = kit.root / "releases" / "1.0.0"
    assert (old / "unpacked" / "dist" / "app.tar.gz" / "app" / "run").read_bytes() == b"run 1.0.0\n"
    return old


def test_unpacked_release_rolls_back_when_intact(kit: ReleaseKit) -> None:
    _unpacked_two(kit)
    out = rollback(kit.root)
    assert out.current.version == "1.0.0" and out.current.tree_sha256 is not None


def test_recheck_names_the_unpacked_tree_when_it_does_not_parse(kit: ReleaseKit) -> None:
    old = _unpacked_two(kit)
    raw = b"[]"
    (old / "meta" / "tree.json").write_bytes(raw)
    record = replace(load_state(kit.root / "state.json").releases[0], tree_sha256=sha256_bytes(raw))
    with pytest.raises(InputError) as info:
        recheck_release(AgentLayout(kit.root), record)
    assert info.value.message.startswith("unpacked tree: "), info.value.message


def test_changed_tree_json_refused(kit: ReleaseKit) -> None:
    old = _unpacked_two(kit)
    tree = old / "meta" / "tree.json"
    tree.write_bytes(tree.read_bytes() + b"\n")
    assert _refusal(kit) == f"release 1.0.0 ({old}): meta/tree.json changed; refusing to roll back"


@pytest.mark.parametrize("damage", ["edit", "add"])
def test_changed_unpacked_files_refused(kit: ReleaseKit, damage: str) -> None:
    old = _unpacked_two(kit)
    run = old / "unpacked" / "dist" / "app.tar.gz" / "app" / "run"
    if damage == "edit":
        run.write_bytes(b"run evil\n")
    else:
        (run.parent / "extra").write_bytes(b"evil")
    assert _refusal(kit) == (
        f"release 1.0.0 ({old}): unpacked files changed; refusing to roll back"
    )


def test_missing_tree_json_is_a_corrupt_release(kit: ReleaseKit) -> None:
    old = _unpacked_two(kit)
    tree = old / "meta" / "tree.json"
    tree.unlink()
    assert _refusal(kit) == (
        f"release 1.0.0 ({old}): unpacked tree unreadable: cannot read unpacked tree {tree}: "
        "No such file or directory"
    )


def test_rollback_log_entry_and_steps(kit: ReleaseKit) -> None:
    _two(kit)
    record = load_state(kit.root / "state.json").releases[0]
    steps: list[str] = []
    out = rollback(kit.root, step=steps.append)
    assert out.to_dict() == {"from": "1.1.0", "to": "1.0.0", **record.to_dict()}
    assert steps.index("recovered") < steps.index("rechecked") < steps.index("logged-rolled-back")
    last = kit.log_events()[-1]
    assert last["event"] == "rolled-back"
    assert (last["from"], last["to"]) == ("1.1.0", "1.0.0")
    assert last["manifest"] == f"sha256:{record.manifest_sha256}"
    assert last["floor"] == "1.1.0"


def test_missing_target_hint(kit: ReleaseKit) -> None:
    _installed(kit, "1.0.0")
    for to in (None, "0.9.0"):
        with pytest.raises(NothingToRollBack) as info:
            rollback(kit.root, to)
        assert info.value.hint == "`nebsign agent status` lists the installed releases"


def _hook(tmp_path: Path, body: str) -> str:
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_post_switch_hook_gets_the_release_and_its_failure_is_logged(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    _two(kit)
    seen = tmp_path / "seen"
    hook = _hook(tmp_path, f'echo "$NEBSIGN_RELEASE_DIR $NEBSIGN_RELEASE_VERSION" > {seen}; exit 3')
    out = rollback(kit.root, hooks=HookSpec(post_switch=(hook,), post_timeout=30))
    assert out.current.version == "1.0.0"
    assert seen.read_text() == f"{kit.root / 'releases' / '1.0.0'} 1.0.0\n"
    last = kit.log_events()[-1]
    assert last["event"] == "post-switch-failed"
    assert (last["version"], last["message"]) == ("1.0.0", f"{hook} exited 3")
    assert os.readlink(kit.root / "current") == "releases/1.0.0"  # a post-switch hook is advice


def test_post_switch_hook_success_is_not_logged_and_its_timeout_is(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    _two(kit)
    rollback(kit.root, hooks=HookSpec(post_switch=("/bin/true",)))
    assert kit.log_events()[-1]["event"] == "rolled-back"
    hook = _hook(tmp_path, "sleep 20")
    rollback(kit.root, "1.1.0", hooks=HookSpec(post_switch=(hook,), post_timeout=0.3))
    last = kit.log_events()[-1]
    assert (last["event"], last["message"]) == ("post-switch-failed", f"{hook} timed out")


def test_status_fields(kit: ReleaseKit) -> None:
    _two(kit)
    rollback(kit.root)
    st = agent_status(kit.root)
    state = load_state(kit.root / "state.json")
    assert st.to_dict() == {
        "current": "1.0.0",
        "highest": "1.1.0",
        "linked": "1.0.0",
        "log": {"entries": 3, "ok": True, "problem": None},
        "releases": [r.to_dict() for r in state.releases],
        "root": str(kit.root),
    }
    (kit.root / "audit.log").write_text("")
    st = agent_status(kit.root)
    assert (st.log_entries, st.log_ok, st.highest) == (0, False, "1.1.0")


def test_status_reports_a_state_behind_the_log_and_a_lowered_floor(kit: ReleaseKit) -> None:
    _installed(kit, "1.0.0")
    old_state = (kit.root / "state.json").read_bytes()
    _installed(kit, "1.1.0", "1.2.0")
    (kit.root / "state.json").write_bytes(old_state)
    st = agent_status(kit.root)
    assert not st.log_ok
    assert st.log_problem is not None
    assert f"agent root {kit.root}: state.json is 2 entries behind the audit log" in st.log_problem
    # same log head, highest edited down: the floor in the log disagrees
    fresh = ReleaseKit(kit.base / "second")
    _installed(fresh, "1.0.0", "1.1.0")
    raw = (fresh.root / "state.json").read_text().replace('"highest":"1.1.0"', '"highest":"1.0.0"')
    (fresh.root / "state.json").write_text(raw)
    st = agent_status(fresh.root)
    assert st.log_problem is not None
    assert (
        f"agent root {fresh.root}: state.json says the highest installed version is 1.0.0, "
        "the audit log says 1.1.0"
    ) in st.log_problem
