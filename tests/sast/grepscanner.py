"""A test-only scanner: ``grep`` for ``eval(`` calls, plugged in through the registry.

It shows what a new backend is: this one module (a :class:`Scanner` subclass) and one
line in :data:`nebsign.policy.sast.SCANNERS` (the test adds it with ``monkeypatch``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from nebsign.digest import sha256_bytes
from nebsign.findings import Confidence, Severity
from nebsign.sast.interface import BatchResult, Hit, Scanner
from nebsign.sast.versions import tool_version

PATTERN = r"\beval\("
_LINE = re.compile(rb"^(?P<path>[^:\n]+):(?P<line>\d+):")


class GrepScanner(Scanner):
    """``grep -n -H -E PATTERN FILES``: one hit per matching line."""

    name: ClassVar[str] = "grep"
    install_hint: ClassVar[str] = "install it with: apt-get install grep"
    suppression: ClassVar[re.Pattern[str]] = re.compile(r"#\s*nogrep\b:?([\w ,-]*)")

    def version(self) -> str:
        return tool_version(self.executable(), "grep")

    def config_digest(self) -> str:
        return sha256_bytes(PATTERN.encode())

    def argv(self, files: Sequence[str]) -> list[str]:
        return [self.executable(), "-n", "-H", "-E", PATTERN, "--", *files]

    def parse(self, stdout: bytes, stderr: bytes, files: Sequence[str]) -> BatchResult:
        out = BatchResult(hits={f: [] for f in files})
        for raw in stdout.splitlines():
            match = _LINE.match(raw)
            if match is None or match["path"].decode() not in out.hits:
                continue
            out.hits[match["path"].decode()].append(
                Hit(
                    rule_id="grep-eval",
                    line=int(match["line"]),
                    column=None,
                    end_line=None,
                    end_column=None,
                    severity=Severity.HIGH,
                    confidence=Confidence.MEDIUM,
                    title="eval() call",
                    message="eval() runs text as code",
                    recommendation="parse the text instead (ast.literal_eval, json)",
                    cwe=("CWE-95",),
                )
            )
        return out
