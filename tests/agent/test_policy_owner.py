"""Issue 9 item 1: host policy files and every directory above them are root's (StrictModes)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from helpers import assert_one_line_error, run_cli

from nebsign.policy.host import UnsafePolicyFile

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to a second uid needs root")


def _refused(kit: ReleaseKit, offending: Path) -> None:
    with pytest.raises(UnsafePolicyFile) as info:
        kit.policy()
    assert str(offending) in info.value.message
    r = run_cli("agent", "install", str(kit.base), "--policy", str(kit.policy_path))
    assert_one_line_error(r, 2)
    assert str(offending) in r.stderr


def test_trust_policy_owned_by_another_user_refused(kit: ReleaseKit) -> None:
    trust = kit.conf / "trust.toml"
    os.chown(trust, NOBODY, NOBODY)  # mode stays 0644: only the owner can write it
    _refused(kit, trust)


def test_host_policy_owned_by_another_user_refused(kit: ReleaseKit) -> None:
    os.chown(kit.policy_path, NOBODY, NOBODY)
    _refused(kit, kit.policy_path)


def test_directory_owned_by_another_user_refused(kit: ReleaseKit) -> None:
    os.chown(kit.conf, NOBODY, NOBODY)  # nobody could rename trust.toml away and plant one
    _refused(kit, kit.conf)


def test_group_writable_parent_refused(kit: ReleaseKit) -> None:
    os.chmod(kit.base, 0o775)  # two levels up: the whole path counts
    _refused(kit, kit.base)


def test_group_writable_trust_policy_refused(kit: ReleaseKit) -> None:
    os.chmod(kit.conf / "trust.toml", 0o664)
    _refused(kit, kit.conf / "trust.toml")


def test_sticky_parent_owned_by_root_accepted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: others may create, not replace root's entries
    kit = ReleaseKit(shared / "k")
    assert kit.policy().keep == 3


def test_file_of_another_user_in_sticky_parent_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    kit = ReleaseKit(shared / "k")
    os.chown(shared / "k", NOBODY, NOBODY)
    _refused(kit, shared / "k")


def test_symlink_owned_by_another_user_refused(kit: ReleaseKit) -> None:
    real = kit.conf / "trust-real.toml"
    os.rename(kit.conf / "trust.toml", real)
    link = kit.conf / "trust.toml"
    os.symlink(real.name, link)
    assert kit.policy().keep == 3  # a root-owned link in a safe directory is followed
    os.lchown(link, NOBODY, NOBODY)
    _refused(kit, link)


def test_ca_file_owned_by_another_user_refused(tmp_path: Path) -> None:
    kit = ReleaseKit(tmp_path / "k", extra_policy='[tls]\nca_file = "ca.pem"\n')
    ca = kit.conf / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    os.chmod(ca, 0o644)
    os.chown(ca, NOBODY, NOBODY)
    _refused(kit, ca)


def test_fifo_as_policy_is_refused_without_blocking(kit: ReleaseKit) -> None:
    os.unlink(kit.conf / "trust.toml")
    os.mkfifo(kit.conf / "trust.toml", 0o644)
    with pytest.raises(Exception, match="not a regular file"):
        kit.policy()
    assert stat.S_ISFIFO(os.lstat(kit.conf / "trust.toml").st_mode)
