"""Rollback and the downgrade floor at their boundaries, in-process (docs/mutants.md).

mutmut only sees tests that call the library in-process; every check here is
asserted with the exact outcome it must have, not only that something was raised.
"""

from __future__ import annotations

import os

import pytest
from agentkit import ReleaseKit

from nebsign.agent.install import Downgrade, InstallStatus, install_release
from nebsign.agent.rollback import NothingToRollBack, rollback
from nebsign.agent.state import load_state


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
    with pytest.raises(Downgrade, match="not newer than 1.1.0"):
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
