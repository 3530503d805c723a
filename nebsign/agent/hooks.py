"""Run the host's hook commands (health check, post-switch) with a timeout.

A hook is an argv list from the root-owned host policy (never a shell
string). It runs through the one subprocess runner (:mod:`nebsign._internal.subproc`):
its own session; on timeout the whole process group is killed. Output is kept
only as a short tail for the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nebsign._internal.subproc import run

__all__ = ["HookResult", "run_hook"]

_TAIL = 2048


@dataclass(frozen=True, slots=True)
class HookResult:
    """How a hook ended: exit code (None on timeout or start failure) and output tail."""

    argv: tuple[str, ...]
    exit_code: int | None
    timed_out: bool
    output_tail: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        if self.timed_out:
            return f"{self.argv[0]} timed out"
        if self.exit_code is None:
            return f"{self.argv[0]} could not start: {self.output_tail}"
        return f"{self.argv[0]} exited {self.exit_code}"


def run_hook(argv: tuple[str, ...], *, timeout: float, env: Mapping[str, str]) -> HookResult:
    """Run *argv* with *env* added to a minimal environment; never raises for its failure."""
    full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **env}
    try:
        proc = run(
            argv, timeout=timeout, env=full_env, max_output=_TAIL, keep_tail=True, merge_stderr=True
        )
    except OSError as exc:
        return HookResult(argv, None, False, exc.strerror or str(exc))
    return HookResult(argv, proc.returncode, proc.timed_out, _tail(proc.stdout))


def _tail(data: bytes | None) -> str:
    return (data or b"")[-_TAIL:].decode("utf-8", errors="replace")
