"""Staging under I/O faults injected at the OS boundary, in-process (docs/mutants.md).

Each test makes one system call fail for one path inside the private stage (disk
full, an I/O error, a refused chmod or link, a staged file that cannot be read
back) and checks what the agent promises: the exact error class and exit code (3
for the environment, 2 for anything else), a message naming the staged path and the
cause, the refusal in the audit log, the stage removed and the live release
untouched. Only the OS call is faulted, never the code under test.
"""

from __future__ import annotations

import errno
import os
import pathlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentkit import ReleaseKit

from nebsign.agent.install import install_release
from nebsign.errors import EnvironmentFault, InputError, NebsignError

ENV = (errno.ENOSPC, errno.EIO)  # the environment: exit 3
OTHER = (errno.EPERM, errno.EACCES)  # anything else: exit 2


def _in_stage(path: object, suffix: str) -> bool:
    text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
    return "/staging/install-" in text and text.endswith(suffix)


class Fault:
    """Make ``os.NAME`` fail with *err* for the first staged path ending in *suffix*."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, suffix: str, err: int) -> None:
        self.suffix, self.err, self.hit = suffix, err, ""
        real: Callable[..., Any] = getattr(os, name)

        def faulty(path: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.hit and _in_stage(path, suffix):
                self.hit = os.fsdecode(path)
                raise OSError(err, os.strerror(err), os.fsdecode(path))
            return real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, faulty)


def _live(kit: ReleaseKit) -> str | None:
    link = kit.root / "current"
    return os.readlink(link) if os.path.lexists(link) else None


def _refused(kit: ReleaseKit, rel: Path, err: int) -> NebsignError:
    """Install *rel*, expect a refusal of the kind *err* calls for; check nothing is left."""
    before = _live(kit)
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(rel))
    exc = info.value
    if err in ENV:
        assert type(exc) is EnvironmentFault and exc.exit_code == 3
    else:
        assert type(exc) is InputError and exc.exit_code == 2
    last = kit.log_events()[-1]
    assert last["event"] == "refused" and last["message"] == exc.message
    assert _live(kit) == before
    assert os.listdir(kit.root / "staging") == []  # the stage is gone, nothing half-written
    return exc


def _first(kit: ReleaseKit) -> Path:
    """A release 1.0.0 installed, and the source of 1.1.0 with a program, a link and data."""
    install_release(kit.policy(), str(kit.build("1.0.0")))
    return kit.build(
        "1.1.0",
        {"bin/app": b"app 1.1.0\n", "lib/data": b"d"},
        symlinks={"lib/link": "data"},
        executable=("bin/app",),
    )


@pytest.mark.parametrize("err", ENV + OTHER)
@pytest.mark.parametrize(
    "suffix", ["/meta/release.json", "/meta/bundles/att-000.sigstore.json", "/payload/lib/data"]
)
def test_a_staged_file_that_cannot_be_created(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, suffix: str, err: int
) -> None:
    rel = _first(kit)
    fault = Fault(monkeypatch, "open", suffix, err)
    exc = _refused(kit, rel, err)
    assert fault.hit
    assert exc.message == f"cannot create {fault.hit}: {os.strerror(err)}"
    assert kit.current_payload() == b"app 1.0.0\n"


@pytest.mark.parametrize("suffix", ["/meta", "/meta/bundles", "/payload", "/payload/lib"])
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_a_staged_directory_that_cannot_be_made(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, suffix: str, err: int
) -> None:
    rel = _first(kit)
    fault = Fault(monkeypatch, "mkdir", suffix, err)
    exc = _refused(kit, rel, err)
    assert exc.message == f"cannot create {fault.hit}: {os.strerror(err)}"


def _fault_on_the_staged_fd(monkeypatch: pytest.MonkeyPatch, name: str, err: int) -> list[str]:
    """Make ``os.NAME(fd, ...)`` fail once on the staged ``payload/lib/data``; return its path."""
    opened: dict[int, str] = {}  # the staged file's descriptor until the fault
    faulted: list[str] = []
    real_open, real = os.open, getattr(os, name)

    def tracking_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, *args, **kwargs)
        if _in_stage(path, "/payload/lib/data"):
            opened[fd] = os.fsdecode(path)
        return fd

    def faulty(fd: int, *args: Any) -> Any:
        if fd in opened:  # once: the number is reused after the close
            faulted.append(opened.pop(fd))
            raise OSError(err, os.strerror(err))
        return real(fd, *args)

    monkeypatch.setattr(os, "open", tracking_open)
    monkeypatch.setattr(os, name, faulty)
    return faulted


def test_a_refused_fchmod_closes_the_new_file(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = _first(kit)
    faulted = _fault_on_the_staged_fd(monkeypatch, "fchmod", errno.EPERM)
    fds = set(os.listdir("/proc/self/fd"))
    exc = _refused(kit, rel, errno.EPERM)
    assert exc.message == f"cannot chmod {faulted[0]}: Operation not permitted"
    assert set(os.listdir("/proc/self/fd")) == fds  # no descriptor leaked by the refusal


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EBADF])
def test_a_write_fault_while_copying_a_payload_file(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    rel = _first(kit)
    faulted = _fault_on_the_staged_fd(monkeypatch, "write", err)
    fds = set(os.listdir("/proc/self/fd"))
    exc = _refused(kit, rel, err)
    assert exc.message == f"cannot write {faulted[0]}: {os.strerror(err)}"
    assert set(os.listdir("/proc/self/fd")) == fds  # the staged file was closed


@pytest.mark.parametrize("suffix", ["/meta/release.json", "/meta/bundles/sig-000.sigstore.json"])
@pytest.mark.parametrize("err", [errno.EIO, errno.ENOENT])
def test_a_staged_file_that_cannot_be_read_back(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, suffix: str, err: int
) -> None:
    """The copy was made, then reading it back fails (an I/O error, or it vanished)."""
    rel = _first(kit)
    hit: list[str] = []
    real = pathlib.Path.read_bytes

    def faulty(self: Path) -> bytes:
        if not hit and _in_stage(self, suffix):
            hit.append(str(self))
            if err == errno.ENOENT:
                os.unlink(self)  # really gone: the real read fails
            else:
                raise OSError(err, os.strerror(err))
        return real(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", faulty)
    exc = _refused(kit, rel, err)
    assert exc.message == f"cannot read {hit[0]}: {os.strerror(err)}"


@pytest.mark.parametrize("err", [errno.EPERM, errno.EIO])
def test_a_refused_chmod_of_a_program(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    rel = _first(kit)
    fault = Fault(monkeypatch, "chmod", "/payload/bin/app", err)
    exc = _refused(kit, rel, err)
    assert exc.message == f"cannot chmod {fault.hit}: {os.strerror(err)}"


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EEXIST])
def test_a_signed_link_the_filesystem_refuses(
    kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    rel = _first(kit)
    hit: list[str] = []
    real = os.symlink

    def faulty(target: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        if _in_stage(path, "/payload/lib/link"):
            hit.append(os.fsdecode(path))
            raise OSError(err, os.strerror(err))
        real(target, path, *args, **kwargs)

    monkeypatch.setattr(os, "symlink", faulty)
    exc = _refused(kit, rel, err)
    assert exc.message == f"cannot create {hit[0]}: {os.strerror(err)}"


def test_without_a_fault_the_same_release_installs(kit: ReleaseKit) -> None:
    """The control: the release the faults break is itself good."""
    rel = _first(kit)
    install_release(kit.policy(), str(rel))
    assert kit.current_payload() == b"app 1.1.0\n"
    assert os.readlink(kit.root / "current" / "payload" / "lib" / "link") == "data"
