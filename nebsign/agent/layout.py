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
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal.atomic import io_error
from nebsign.errors import EnvironmentFault, InputError

__all__ = ["CRASH_ENV", "AgentBusy", "AgentLayout", "NotAnAgentRoot", "UnsafeRoot", "crash_point"]

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


class NotAnAgentRoot(InputError):
    """The directory given as agent root is not one (and nothing was created there)."""

    reason = "not-an-agent-root"


class UnsafeRoot(InputError):
    """A part of the agent root is a symbolic link or not the kind of file it must be."""

    reason = "unsafe-root"


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: What each part of the root must be when it exists (``current`` is the one link).
_PARTS = {
    "releases": stat.S_IFDIR,
    "staging": stat.S_IFDIR,
    "state.json": stat.S_IFREG,
    "audit.log": stat.S_IFREG,
    "lock": stat.S_IFREG,
    "current": stat.S_IFLNK,
    "audit.log.d": stat.S_IFDIR,
}


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
        """Create the root and its directories (0700 for staging), then :meth:`check` them.

        Parts are created relative to the opened root, and staging's mode is
        set through a descriptor opened with ``O_NOFOLLOW``: a link planted
        in place of a part is refused, never followed.
        """
        created = False
        try:
            if not os.path.lexists(self.root):
                self.root.mkdir(parents=True, mode=0o755)
                created = True
        except FileExistsError:
            pass
        except OSError as exc:
            raise io_error(self.root, exc, "create") from exc
        fd = self._open_root()
        try:
            if created:
                os.fchmod(fd, 0o755)  # the service traverses it to current/; not the umask's
            for name, mode in (("releases", 0o755), ("staging", 0o700)):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, mode, dir_fd=fd)
            self._check(fd)
            for name, mode in (("releases", 0o755), ("staging", 0o700)):
                pfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    os.fchmod(pfd, mode)
                finally:
                    os.close(pfd)
        except OSError as exc:
            raise io_error(self.root, exc, "create") from exc
        finally:
            os.close(fd)

    def check(self) -> None:
        """Refuse (:class:`UnsafeRoot`, exit 2) a root whose parts are links or the wrong kind."""
        fd = self._open_root()
        try:
            self._check(fd)
        finally:
            os.close(fd)

    def _open_root(self) -> int:
        try:
            return os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafeRoot(
                    f"agent root {self.root} is a symbolic link or not a directory",
                    hint="point the policy's root at the real directory",
                ) from exc
            raise io_error(self.root, exc, "open") from exc

    def _check(self, fd: int) -> None:
        for name, want in _PARTS.items():
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_IFMT(st.st_mode) != want:
                kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "the wrong kind of file"
                raise UnsafeRoot(
                    f"agent root {self.root}: {name} is {kind}; refusing to follow or use it",
                    hint=f"inspect and remove {self.root / name}; the agent recreates it",
                )

    def release_is_dir(self, version: str) -> bool:
        """True if ``releases/<version>`` is a real directory (a link is not)."""
        try:
            st = os.lstat(self.release_dir(version))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise io_error(self.release_dir(version), exc, "read") from exc
        return stat.S_ISDIR(st.st_mode)

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

    def require_root(self) -> None:
        """Refuse (exit 2, nothing created) a directory that is not an agent root.

        An agent root holds ``state.json`` or ``audit.log`` (the first
        install writes both); its parts are checked with :meth:`check`.
        """
        if not self.root.is_dir():
            raise NotAnAgentRoot(
                f"agent root {self.root} does not exist",
                hint="check --root or the policy's root; `agent install` creates it",
            )
        self.check()
        if not any(os.path.lexists(p) for p in (self.state_file, self.log_file)):
            raise NotAnAgentRoot(
                f"{self.root} is not an agent root (no state.json or audit.log)",
                hint="check --root or the policy's root; `agent install` creates it",
            )

    @contextlib.contextmanager
    def locked(self, *, create: bool = False) -> Iterator[None]:
        """Hold an exclusive, non-blocking flock on ``<root>/lock``.

        With *create* (install, the daemon) a missing root is created;
        otherwise *root* must already be an agent root and nothing is created.
        """
        if create:
            self.ensure()
        else:
            self.require_root()
        try:
            fd = os.open(
                self.lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
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
