"""The one way nebsign starts a subprocess: timeout, process-group kill, bounded output.

Used by the SAST scanners, Slither (audits), git (``--staged``) and the agent's
hooks. The child runs in its own session, so on timeout (or output past the
limit) the whole process group is killed, grandchildren included. Output is read
as it comes, never more than *max_output* bytes kept per stream: past it the run
is stopped (``too_large``), or with ``keep_tail`` only the last *max_output* bytes
are kept and the run goes on (hooks: the audit log wants the end). The argv is a
list, never a shell string. Starting failures (``OSError``) are the caller's to
map: a missing git, a missing scanner and a missing hook mean different things.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nebsign.errors import EnvironmentFault

__all__ = [
    "MAX_OUTPUT",
    "Completed",
    "ScannerFailed",
    "ScannerMissing",
    "find_tool",
    "run",
]

#: default cap on each of stdout and stderr
MAX_OUTPUT = 256 * 1024 * 1024
_CHUNK = 64 * 1024


class ScannerMissing(EnvironmentFault):
    """The scanner executable is not installed."""

    reason = "scanner-missing"


class ScannerFailed(EnvironmentFault):
    """The scanner ran but produced no usable result."""

    reason = "scanner-failed"


@dataclass(frozen=True, slots=True)
class Completed:
    """How a run ended. *returncode* is None when the run was stopped (timeout, too large)."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    too_large: bool = False


def find_tool(name: str, install_hint: str) -> str:
    """The tool next to the running interpreter (same venv) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise ScannerMissing(f"scanner {name!r} is not installed", hint=install_hint)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    data: bytes | None = None,
    max_output: int = MAX_OUTPUT,
    keep_tail: bool = False,
    merge_stderr: bool = False,
) -> Completed:
    """Run *argv* (with exactly *env* as its environment when given) and wait at most
    *timeout* seconds; *data* is written to its stdin (else stdin is /dev/null)."""
    proc = subprocess.Popen(  # noqa: S603 - argv lists from fixed tools or the host policy
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + timeout
    timed_out = too_large = False
    try:
        out, err, timed_out, too_large = _pump(proc, data, deadline, max_output, keep_tail)
        if not (timed_out or too_large):
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
    except BaseException:
        timed_out = True  # interrupted: nothing of the run may stay behind
        raise
    finally:
        if timed_out or too_large:
            # the whole group: what the tool started must not outlive a stopped run
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    stopped = timed_out or too_large
    return Completed(
        tuple(argv), None if stopped else proc.returncode, out, err, timed_out, too_large
    )


def _pump(
    proc: subprocess.Popen[bytes],
    data: bytes | None,
    deadline: float,
    limit: int,
    keep_tail: bool,
) -> tuple[bytes, bytes, bool, bool]:
    """Feed stdin and drain stdout/stderr until both close, the deadline or the limit."""
    bufs: dict[int, bytearray] = {}
    sel = selectors.DefaultSelector()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            bufs[stream.fileno()] = bytearray()
            sel.register(stream.fileno(), selectors.EVENT_READ)
    pending = memoryview(data or b"")
    stdin_fd = -1
    if proc.stdin is not None:
        # the fd is closed here when written; the file object must not close it again
        stdin_fd = os.dup(proc.stdin.fileno())
        proc.stdin.close()
        os.set_blocking(stdin_fd, False)
        if pending:
            sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            os.close(stdin_fd)
            stdin_fd = -1
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return _done(proc, bufs, True, False)
            for key, _ in sel.select(left):
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        pending = pending[os.write(fd, pending[:_CHUNK]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    except BlockingIOError:
                        continue
                    if not pending:
                        sel.unregister(fd)
                        os.close(fd)
                        stdin_fd = -1
                    continue
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    sel.unregister(fd)
                    continue
                buf = bufs[fd]
                buf += chunk
                if len(buf) > limit:
                    if not keep_tail:
                        return _done(proc, bufs, False, True)
                    del buf[: len(buf) - limit]
    finally:
        sel.close()
        if stdin_fd >= 0:
            os.close(stdin_fd)
    return _done(proc, bufs, False, False)


def _done(
    proc: subprocess.Popen[bytes], bufs: dict[int, bytearray], timed_out: bool, too_large: bool
) -> tuple[bytes, bytes, bool, bool]:
    out = bufs.get(proc.stdout.fileno()) if proc.stdout is not None else None
    err = bufs.get(proc.stderr.fileno()) if proc.stderr is not None else None
    return bytes(out or b""), bytes(err or b""), timed_out, too_large
