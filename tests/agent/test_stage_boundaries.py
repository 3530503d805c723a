"""Staging and the staged-bytes checks at their boundaries, in-process (docs/mutants.md)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from test_rollback_boundaries import _tgz

from nebsign._internal.fetch import FetchLimits
from nebsign.agent.install import install_release
from nebsign.agent.stage import (
    ArtifactMismatch,
    fetch_limits,
    reason_of,
    release_requirements,
)
from nebsign.digest import TooLarge
from nebsign.errors import NebsignError
from nebsign.release_check import ReleaseRequirements


def _current(kit: ReleaseKit) -> str | None:
    link = kit.root / "current"
    return os.readlink(link) if os.path.lexists(link) else None


def _refused(kit: ReleaseKit, rel: Path) -> NebsignError:
    before = _current(kit)
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(rel))
    last = kit.log_events()[-1]
    assert last["event"] == "refused" and last["message"] == info.value.message
    assert last["reason"] == reason_of(info.value) == info.value.reason
    assert _current(kit) == before
    return info.value


def test_policy_derived_limits_and_requirements(kit: ReleaseKit) -> None:
    kit.extra_policy = (
        "require_expires = true\n[limits]\nstall_seconds = 7\ntimeout_seconds = 99\n"
        "max_files = 12\nmax_release_bytes = 3456\n"
    )
    kit.write_policy()
    policy = kit.policy()
    assert fetch_limits(policy) == FetchLimits(7.0, 99.0, policy.tls_ca_pem)
    assert release_requirements(policy) == ReleaseRequirements(
        name="app",
        require_version=True,
        require_expires=True,
        attestations=policy.required,
        max_files=12,
        max_release_bytes=3456,
    )


def test_staged_metadata_is_kept_under_fixed_names(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    (rel / "signatures" / "again.sigstore.json").write_bytes(
        (rel / "release.json.sigstore.json").read_bytes()
    )
    steps: list[str] = []
    install_release(kit.policy(), str(rel), step=steps.append)
    meta = kit.root / "releases" / "1.0.0" / "meta"
    assert sorted(os.listdir(meta / "bundles")) == [
        "att-000.sigstore.json",
        "sig-000.sigstore.json",
        "sig-001.sigstore.json",
    ]
    assert (meta / "release.json").read_bytes() == (rel / "release.json").read_bytes()
    assert (meta / "bundles" / "att-000.sigstore.json").read_bytes() == (
        rel / "attestations" / "sast.sigstore.json"
    ).read_bytes()
    order = ["fetched-manifest", "fetched-bundles", "verified-metadata", "checked-version"]
    order += ["staged-first-file", "staged-payload", "fsynced-stage"]
    assert [s for s in steps if s in order] == order
    assert "unpacked" not in steps


def test_ignored_bundle_is_named_by_its_source_path(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    (rel / "signatures").mkdir()
    (rel / "signatures" / "junk.sigstore.json").write_bytes(b"{}")
    out = install_release(kit.policy(), str(rel))
    assert [i.name for i in out.ignored] == [f"{rel}/signatures/junk.sigstore.json"]


def test_manifest_and_bundle_size_limits(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0")
    size = (rel / "release.json").stat().st_size
    kit.extra_policy = f"[limits]\nmax_manifest_bytes = {size - 1}\n"
    kit.write_policy()
    exc = _refused(kit, rel)
    assert isinstance(exc, TooLarge) and exc.exit_code == 2
    kit.extra_policy = f"[limits]\nmax_manifest_bytes = {size}\n"
    kit.write_policy()
    install_release(kit.policy(), str(rel))
    rel2 = kit.build("1.1.0")
    bundle = (rel2 / "release.json.sigstore.json").stat().st_size
    kit.extra_policy = f"[limits]\nmax_bundle_bytes = {bundle - 1}\n"
    kit.write_policy()
    assert isinstance(_refused(kit, rel2), TooLarge)


def test_payload_checks_say_which_file_and_why(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"a/f": b"12345678", "b": b"x"})
    (rel / "payload" / "a" / "f").write_bytes(b"123456789")
    exc = _refused(kit, rel)
    assert isinstance(exc, TooLarge)
    assert exc.message == (
        f"release {rel}: payload/a/f: more than the 8 bytes the signed manifest declares "
        "(oversized download refused)"
    )
    (rel / "payload" / "a" / "f").write_bytes(b"1234567")
    exc = _refused(kit, rel)
    assert isinstance(exc, ArtifactMismatch) and exc.exit_code == 1
    assert exc.message == (
        f"release {rel}: payload/a/f: size differs from the signed manifest "
        "(got 7 bytes, expected 8): tampered or truncated artifact refused"
    )
    (rel / "payload" / "a" / "f").write_bytes(b"12345670")
    exc = _refused(kit, rel)
    got = hashlib.sha256(b"12345670").hexdigest()
    want = hashlib.sha256(b"12345678").hexdigest()
    assert exc.message == (
        f"release {rel}: payload/a/f: sha256 {got[:16]}... does not match the signed "
        f"manifest ({want[:16]}...): tampered artifact refused"
    )


def test_size_mismatch_message_carries_the_sizes(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"f": b"12345678"})
    (rel / "payload" / "f").write_bytes(b"123")
    exc = _refused(kit, rel)
    assert exc.message == (
        f"release {rel}: payload/f: size differs from the signed manifest "
        "(got 3 bytes, expected 8): tampered or truncated artifact refused"
    )


def test_staged_files_get_the_signed_modes_whatever_the_umask(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"bin/run": b"#!/bin/sh\n", "lib/data": b"d"}, executable=("bin/run",))
    os.chmod(rel / "payload" / "lib" / "data", 0o777)  # the source's mode is not trusted
    old = os.umask(0o077)
    try:
        install_release(kit.policy(), str(rel))
    finally:
        os.umask(old)
    payload = kit.root / "releases" / "1.0.0" / "payload"
    assert stat.S_IMODE((payload / "bin" / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((payload / "lib" / "data").stat().st_mode) == 0o644
    assert stat.S_IMODE((payload / "lib").stat().st_mode) == 0o755


def test_symlinks_and_a_name_with_a_newline(kit: ReleaseKit) -> None:
    rel = kit.build("1.0.0", {"x\ny": b"1", "d/f": b"2"}, symlinks={"d/l": "f"})
    install_release(kit.policy(), str(rel))
    payload = kit.root / "releases" / "1.0.0" / "payload"
    assert os.readlink(payload / "d" / "l") == "f" and (payload / "x\ny").read_bytes() == b"1"
    rel2 = kit.build("1.1.0", {"x\ny": b"1"})
    (rel2 / "payload" / "x\ny").write_bytes(b"2")
    exc = _refused(kit, rel2)
    assert "\n" not in exc.message and "payload/x" in exc.message


def _unpacking(kit: ReleaseKit, max_bytes: int, max_files: int) -> None:
    kit.extra_policy = (
        f"[unpack]\nenabled = true\nmax_bytes = {max_bytes}\nmax_files = {max_files}\n"
    )
    kit.write_policy()


def test_unpack_budget_is_shared_by_all_archives(kit: ReleaseKit) -> None:
    files = {
        "a.tar.gz": _tgz({"x": b"1" * 60, "y": b"2"}),
        "b.tgz": _tgz({"z": b"3" * 40}),
        "notes.txt": b"not an archive",
    }
    _unpacking(kit, 101, 3)
    steps: list[str] = []
    out = install_release(kit.policy(), str(kit.build("1.0.0", files)), step=steps.append)
    assert "unpacked" in steps
    rdir = kit.root / "releases" / "1.0.0"
    assert (rdir / "unpacked" / "b.tgz" / "z").read_bytes() == b"3" * 40
    assert not (rdir / "unpacked" / "notes.txt").exists()
    tree = (rdir / "meta" / "tree.json").read_bytes()
    assert out.record.tree_sha256 == hashlib.sha256(tree).hexdigest()
    # one byte less, or one file less, and the second archive is refused by name
    _unpacking(kit, 100, 3)
    exc = _refused(kit, kit.build("1.1.0", files))
    assert (
        exc.message
        == "archive payload/b.tgz: member 'z' refused: declares 40 bytes, over the limit"
    )
    _unpacking(kit, 101, 2)
    exc = _refused(kit, kit.build("1.1.0", files))
    assert exc.message == "archive payload/b.tgz: member 'z' refused: more than 0 members"


def test_unpack_without_archives_records_no_tree(kit: ReleaseKit) -> None:
    _unpacking(kit, 1000, 10)
    out = install_release(kit.policy(), str(kit.build("1.0.0", {"a.txt": b"a"})))
    assert out.record.tree_sha256 is None
    assert not (kit.root / "releases" / "1.0.0" / "unpacked").exists()
    assert not (kit.root / "releases" / "1.0.0" / "meta" / "tree.json").exists()


def test_a_linked_directory_in_the_source_payload_is_not_followed(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    rel = kit.build("1.0.0", {"lib/x": b"x1", "a": b"a"})
    elsewhere = tmp_path / "elsewhere"
    (rel / "payload" / "lib").rename(elsewhere)
    (rel / "payload" / "lib").symlink_to(elsewhere)  # same bytes, reached through a link
    exc = _refused(kit, rel)
    assert exc.exit_code == 2
    assert exc.message == f"{rel}/payload/lib/x: a symbolic link or not a directory on the way"


def test_size_mismatch_names_the_sizes_even_below_a_path_with_colons(
    kit: ReleaseKit, tmp_path: Path
) -> None:
    rel = kit.build("1.0.0", {"f": b"12345678"}, dest=tmp_path / "rel: one")
    (rel / "payload" / "f").write_bytes(b"123")
    exc = _refused(kit, rel)
    assert exc.message == (
        f"release {rel}: payload/f: size differs from the signed manifest "
        "(got 3 bytes, expected 8): tampered or truncated artifact refused"
    )


def test_links_in_an_archive_use_up_the_shared_file_budget(kit: ReleaseKit) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("f")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"1"))
        for name in ("l1", "l2"):
            link = tarfile.TarInfo(name)
            link.type = tarfile.SYMTYPE
            link.linkname = "f"
            tar.addfile(link)
    files = {"a.tgz": buf.getvalue(), "b.tgz": _tgz({"g": b"2"})}
    _unpacking(kit, 1000, 4)  # 1 file + 2 links, then 1 file: exactly the budget
    install_release(kit.policy(), str(kit.build("1.0.0", files)))
    _unpacking(kit, 1000, 3)
    exc = _refused(kit, kit.build("1.1.0", files))
    assert exc.message == "archive payload/b.tgz: member 'g' refused: more than 0 members"


def test_the_pinned_tls_ca_goes_to_every_fetch(kit: ReleaseKit) -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    (kit.conf / "ca.pem").write_bytes(pem)
    os.chmod(kit.conf / "ca.pem", 0o644)
    kit.extra_policy = '[tls]\nca_file = "ca.pem"\n'
    kit.write_policy()
    assert fetch_limits(kit.policy()).ca_pem == pem


def test_deep_payload_directories_are_created(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0", {"a/b/c/f": b"deep"})))
    assert (kit.root / "current" / "payload" / "a" / "b" / "c" / "f").read_bytes() == b"deep"


def test_a_linked_attestations_directory_is_not_followed(kit: ReleaseKit, tmp_path: Path) -> None:
    rel = kit.build("1.0.0")
    elsewhere = tmp_path / "atts"
    (rel / "attestations").rename(elsewhere)
    (rel / "attestations").symlink_to(elsewhere)
    assert _refused(kit, rel).message == f"{rel}/attestations: not a directory"


def test_release_check_refusals_name_the_release_and_its_manifest(kit: ReleaseKit) -> None:
    from nebsign.signing import sign_digest

    rel = kit.build("1.0.0")
    (rel / "release.json.sigstore.json").unlink()
    assert _refused(kit, rel).message == (
        f"release {rel}: release.json is not signed (no signature bundle found)"
    )
    raw = b"signed, but no manifest"
    (rel / "release.json").write_bytes(raw)
    (rel / "release.json.sigstore.json").write_bytes(
        sign_digest(hashlib.sha256(raw).hexdigest(), kit.key).to_json()
    )
    assert _refused(kit, rel).message.startswith(f"{rel}/release.json: ")
