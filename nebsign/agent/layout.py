"""The agent root on disk, its lock, and the crash points used by tests.

::

    <root>/
      current -> releases/<version>     the live release (a symlink, switched by rename)
      releases/<version>/
        payload/...                     the release's files, exactly as its manifest lists
        unpacked/<archive path>/...     archives unpacked at install (when the policy says so)
        meta/release.json               the verified manifest bytes
        meta/bundles/*.sigstore.json    the bundles it was verified with
        meta/tree.json                  local manifest of unpacked/ (written at install)
        meta/COMPLETE                   written last, fsynced, before the release can go live
      staging/                          private (0700) per-install staging directories
      state.json                        monotonic state (atomic, fsynced)
      audit.log                         hash-chained JSON lines
      lock                              flock(2) held by install / rollback / run
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal.atomic import io_error
from nebsign.errors import EnvironmentFault

__all__ = ["CRASH_ENV", "AgentBusy", "AgentLayout", "crash_point"]

#: Name of the environment variable holding a crash point name (tests only).
CRASH_ENV = "NEBSIGN_AGENT_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``$NEBSIGN_AGENT_CRASH_AT`` names *name*.

    The crash-consistency tests run the agent in a subprocess with this set
    to every step name in turn; in production the variable is unset.
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class AgentBusy(EnvironmentFault):
    """Another agent process holds the lock."""

    reason = "agent-busy"


@dataclass(frozen=True, slots=True)
class AgentLayout:
    """Paths inside one agent root."""

    root: Path

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def log_file(self) -> Path:
        return self.root / "audit.log"

    @property
    def lock_file(self) -> Path:
        return self.root / "lock"

    def release_dir(self, version: str) -> Path:
        return self.releases / version

    def ensure(self) -> None:
        """Create the root and its directories (0700 for staging)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
            self.releases.mkdir(exist_ok=True, mode=0o755)
            self.staging.mkdir(exist_ok=True, mode=0o700)
            os.chmod(self.staging, 0o700)
        except OSError as exc:
            raise io_error(self.root, exc, "create") from exc

    def current_version(self) -> str | None:
        """The version ``current`` points to, or None when there is no link."""
        try:
            target = os.readlink(self.current)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise io_error(self.current, exc, "read") from exc
        parent, _, name = target.rpartition("/")
        if parent != "releases" or not name:
            raise EnvironmentFault(
                f"{self.current} points to {target!r}, not releases/<version>",
                hint="the agent root was modified by hand; repair the link",
            )
        return name

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive, non-blocking flock on ``<root>/lock``."""
        self.ensure()
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise io_error(self.lock_file, exc, "open") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise AgentBusy(
                        f"another nebsign agent holds {self.lock_file}",
                        hint="wait for it to finish or stop the running agent",
                    ) from exc
                raise io_error(self.lock_file, exc, "lock") from exc
            yield
        finally:
            os.close(fd)
