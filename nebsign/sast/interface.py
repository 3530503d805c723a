"""The scanner plug-in interface: one :class:`Scanner` subclass per tool.

A scanner runs a real tool as a subprocess over a batch of files under one
root and returns, per file, path-independent :class:`Hit` values (so the
cache can key them by file content alone) plus the errors it met. Turning
hits into :class:`~nebsign.findings.Finding` values (snippet, suppression,
fingerprint) is shared code in :mod:`nebsign.sast.runner`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from nebsign.errors import EnvironmentFault, InputError
from nebsign.findings import Confidence, Severity

__all__ = [
    "BatchResult",
    "Hit",
    "ScanError",
    "Scanner",
    "ScannerFailed",
    "ScannerMissing",
    "find_tool",
    "run_tool",
    "shard_files",
]


class ScannerMissing(EnvironmentFault):
    """The scanner executable is not installed."""

    reason = "scanner-missing"


class ScannerFailed(EnvironmentFault):
    """The scanner ran but produced no usable result."""

    reason = "scanner-failed"


@dataclass(frozen=True, slots=True)
class Hit:
    """One raw tool result inside one file, independent of the file's path."""

    rule_id: str
    line: int
    column: int | None
    end_line: int | None
    end_column: int | None
    severity: Severity
    confidence: Confidence
    title: str
    message: str
    recommendation: str
    cwe: tuple[str, ...]
    properties: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "title": self.title,
            "message": self.message,
            "recommendation": self.recommendation,
            "cwe": list(self.cwe),
            "properties": dict(self.properties),
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Hit:
        try:
            return cls(
                rule_id=str(obj["rule_id"]),
                line=int(obj["line"]),
                column=None if obj["column"] is None else int(obj["column"]),
                end_line=None if obj["end_line"] is None else int(obj["end_line"]),
                end_column=None if obj["end_column"] is None else int(obj["end_column"]),
                severity=Severity(obj["severity"]),
                confidence=Confidence(obj["confidence"]),
                title=str(obj["title"]),
                message=str(obj["message"]),
                recommendation=str(obj["recommendation"]),
                cwe=tuple(str(c) for c in obj["cwe"]),
                properties=dict(obj["properties"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"cached scanner result is malformed: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ScanError:
    """A file (or the whole batch when *path* is None) the tool could not scan."""

    tool: str
    path: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "path": self.path, "message": self.message}


@dataclass(slots=True)
class BatchResult:
    """Hits for every file that was scanned successfully, and the errors."""

    hits: dict[str, list[Hit]] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)

    def merge(self, other: BatchResult) -> None:
        self.hits.update(other.hits)
        self.errors.extend(other.errors)


class Scanner(ABC):
    """Base class of every SAST backend.

    Subclasses set :attr:`name` (also the executable's name), :attr:`install_hint`
    and :attr:`suppression` (the inline comment that silences them), and
    implement :meth:`version`, :meth:`config_digest` and :meth:`scan`.
    """

    name: ClassVar[str]
    install_hint: ClassVar[str]
    #: inline suppression comment; group 1 (optional) lists the rule ids it names
    suppression: ClassVar[re.Pattern[str]]

    #: seconds one run may take before its files' own timeouts count (start-up)
    startup_budget: ClassVar[float] = 20.0
    #: environment added to the tool's process
    tool_env: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, *, per_file_timeout: float = 30.0, jobs: int = 1) -> None:
        self.per_file_timeout = per_file_timeout
        self.jobs = max(1, jobs)

    @abstractmethod
    def version(self) -> str:
        """The tool's version string (part of every cache key and verdict)."""

    @abstractmethod
    def config_digest(self) -> str:
        """Hex digest of the rules/profile the tool runs with."""

    @abstractmethod
    def argv(self, files: Sequence[str]) -> list[str]:
        """The tool's command line for *files* (public: the benchmark runs the same)."""

    @abstractmethod
    def parse(self, stdout: bytes, stderr: bytes, files: Sequence[str]) -> BatchResult:
        """Turn one run's output into hits and per-file errors."""

    def scan(self, root: Path, files: Sequence[str]) -> BatchResult:
        """Scan *files* (POSIX paths relative to *root*), one tool process per shard."""
        out = BatchResult()
        if not files:
            return out
        shards = shard_files(root, files, self.jobs)
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            for part in pool.map(lambda shard: self._scan_shard(root, shard), shards):
                out.merge(part)
        return out

    def _scan_shard(self, root: Path, files: Sequence[str]) -> BatchResult:
        """Run one shard; if it times out, run its files one by one.

        So one slow file becomes a scanner error for that file only.
        """
        budget = self.startup_budget + self.per_file_timeout * len(files)
        proc = run_tool(self.argv(files), cwd=root, timeout=budget, env=self.tool_env)
        if proc is not None:
            return self.parse(proc.stdout, proc.stderr, files)
        if len(files) == 1:
            return BatchResult(
                errors=[ScanError(self.name, files[0], f"timed out after {budget:.0f} s")]
            )
        out = BatchResult()
        for one in files:
            out.merge(self._scan_shard(root, [one]))
        return out

    def executable(self) -> str:
        return find_tool(self.name, self.install_hint)

    def suppressed_by(self, comment_lines: Sequence[str], hit: Hit) -> bool:
        """True if one of *comment_lines* carries this tool's suppression for *hit*.

        A bare comment suppresses every rule; a comment naming rules suppresses
        only those (matched against :meth:`aliases`).
        """
        names = self.aliases(hit)
        for text in comment_lines:
            for match in self.suppression.finditer(text):
                listed = self.listed_rules(match.group(1) or "")
                if not listed or names & listed:
                    return True
        return False

    def listed_rules(self, text: str) -> set[str]:
        """The rule names a suppression comment lists (empty: it names none)."""
        return {n for n in re.split(r"[\s,]+", text.strip()) if n}

    def aliases(self, hit: Hit) -> set[str]:
        """Names a suppression comment may use for *hit*'s rule."""
        return {hit.rule_id}

    def suppression_window(self, lines: Sequence[str], hit: Hit) -> list[int]:
        """Line numbers (1-based) whose comments may suppress *hit* (default: its own lines)."""
        last = max(hit.line, hit.end_line or hit.line)
        return list(range(hit.line, min(last, len(lines)) + 1))


def find_tool(name: str, install_hint: str) -> str:
    """The tool next to the running interpreter (same venv) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise ScannerMissing(f"scanner {name!r} is not installed", hint=install_hint)


def run_tool(
    argv: Sequence[str], *, cwd: Path, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes] | None:
    """Run a scanner; None if it exceeded *timeout*.

    The tool runs in a session of its own, and a tool that times out is killed with
    every process it started (semgrep's launcher starts its core): nothing it began
    keeps running, or holds its output pipes open, after the scan gave up on it.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv is built from a fixed tool path and file list
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ScannerFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(proc)
            proc.communicate()
            return None
        except BaseException:  # an interrupt: the tool must not outlive the scan
            _kill_session(proc)
            raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, stdout, stderr)


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    # the leader is not reaped yet, so its pid still names this session's group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def shard_files(root: Path, files: Sequence[str], jobs: int) -> list[list[str]]:
    """Split *files* into at most *jobs* lists of similar total size (largest first)."""
    jobs = max(1, min(jobs, len(files)))
    if jobs == 1:
        return [list(files)]
    sized = []
    for rel in files:
        try:
            size = (root / rel).stat().st_size
        except OSError:
            size = 0
        sized.append((size, rel))
    sized.sort(reverse=True)
    bins: list[list[str]] = [[] for _ in range(jobs)]
    totals = [0] * jobs
    for size, rel in sized:
        i = totals.index(min(totals))
        bins[i].append(rel)
        totals[i] += size
    return [sorted(b) for b in bins if b]
