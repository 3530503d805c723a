"""What a scan of source files produced, before a policy judges it: pure values.

:class:`ScanOutcome` (findings, inline suppressions, scanner errors, the tools
and the manifest of what was scanned) is built by the SAST runner
(:func:`nebsign.sast.runner.run_scan`) and judged by the ``[sast]`` policy
(:mod:`nebsign.policy.sast`), which therefore need not import each other. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebsign.findings import Finding
from nebsign.manifest import FileEntry, Manifest

__all__ = ["ScanError", "ScanOutcome", "Suppressed"]


@dataclass(frozen=True, slots=True)
class ScanError:
    """A file (or the whole batch when *path* is None) the tool could not scan."""

    tool: str
    path: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding silenced by an inline comment (reported in counts and JSON)."""

    tool: str
    rule_id: str
    path: str
    line: int
    comment: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "rule_id": self.rule_id,
            "path": self.path,
            "line": self.line,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """Everything one scan produced, before the policy judges it."""

    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...]
    errors: tuple[ScanError, ...]
    tools: Mapping[str, str]
    configs: Mapping[str, str]
    manifest: Manifest
    cache_hits: int = 0
    cache_misses: int = 0
    files: tuple[str, ...] = field(default=())
    #: executable files looked at and found not to be Python (path, size, sha256)
    not_python: tuple[FileEntry, ...] = field(default=())
