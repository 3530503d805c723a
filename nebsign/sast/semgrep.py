"""Semgrep backend: the real ``semgrep`` with nebsign's local rules, offline and quiet.

Two engines run the same rules: ``native`` (``semgrep --experimental``, the
OCaml osemgrep binary, ~0.2 s to start) and ``python`` (the default Python
launcher, 2-3 s to start). ``native`` is the default because it gives
identical results on every rule nebsign ships (tests/sast/test_engines.py
checks this; see docs/adr/0003-sast.md).

Always: ``--metrics=off``, version check disabled, local rules only (no
registry), ``--no-git-ignore`` (explicit file lists), ``--disable-nosem``
(nebsign applies ``# nosemgrep`` itself so suppressions are counted).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from nebsign._internal.extras import install_line
from nebsign._internal.readlimit import read_bounded
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.findings import Confidence, Severity
from nebsign.sast.interface import (
    BatchResult,
    Hit,
    ScanError,
    Scanner,
    ScannerFailed,
)
from nebsign.sast.versions import tool_version

__all__ = ["OFFLINE_ENV", "SemgrepEngine", "SemgrepScanner", "rule_files"]

#: environment that keeps semgrep offline and quiet
OFFLINE_ENV = {
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
    "SEMGREP_IN_DOCKER": "0",
}
_MAX_RULE_FILE = 1024 * 1024
_SEVERITY = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM, "INFO": Severity.LOW}


class SemgrepEngine(enum.Enum):
    """Which semgrep front end runs the rules."""

    NATIVE = "native"
    PYTHON = "python"


def rule_files(rules_dir: Path) -> list[Path]:
    """The rule files of a directory, sorted; an empty set is an input error."""
    if not rules_dir.is_dir():
        raise InputError(f"semgrep rules: {rules_dir} is not a directory")
    files = sorted(p for p in rules_dir.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise InputError(f"semgrep rules: no .yaml rule files in {rules_dir}")
    return files


class SemgrepScanner(Scanner):
    """``semgrep [--experimental] --config RULES --json FILES``."""

    name: ClassVar[str] = "semgrep"
    install_hint: ClassVar[str] = install_line("scan")
    startup_budget: ClassVar[float] = 30.0
    tool_env: ClassVar[Mapping[str, str] | None] = OFFLINE_ENV
    suppression: ClassVar[re.Pattern[str]] = re.compile(
        r"#\s*nosem(?:grep)?\b(?:\s*:\s*([\w.\-, ]+))?"
    )

    def __init__(
        self,
        rules_dir: Path,
        *,
        engine: SemgrepEngine = SemgrepEngine.NATIVE,
        per_file_timeout: float = 30.0,
        jobs: int = 1,
    ) -> None:
        super().__init__(per_file_timeout=per_file_timeout, jobs=jobs)
        self.rules_dir = rules_dir
        self.engine = engine
        self._files = rule_files(rules_dir)
        parts = []
        for path in self._files:
            data = read_bounded(path, _MAX_RULE_FILE, "semgrep rule file")
            parts.append(f"{path.name}\0{sha256_bytes(data)}")
        self._digest = sha256_bytes("\n".join(parts).encode())

    def version(self) -> str:
        return tool_version(self.executable(), "semgrep")

    def config_digest(self) -> str:
        return sha256_bytes(f"{self._digest}:{self.engine.value}".encode())

    def suppression_window(self, lines: Sequence[str], hit: Hit) -> list[int]:
        # semgrep honours the comment on the finding's first line or a comment line above
        window = [hit.line] if hit.line <= len(lines) else []
        if 2 <= hit.line <= len(lines) + 1 and lines[hit.line - 2].lstrip().startswith("#"):
            window.append(hit.line - 1)
        return window

    def argv(self, files: Sequence[str]) -> list[str]:
        argv = [self.executable()]
        if self.engine is SemgrepEngine.NATIVE:
            argv.append("--experimental")
        else:
            argv += ["scan", "--disable-version-check"]
        for path in self._files:
            argv += ["--config", str(path.resolve())]
        argv += [
            "--json",
            "--quiet",
            "--metrics=off",
            "--no-git-ignore",
            "--disable-nosem",
            "--max-target-bytes=0",
            f"--timeout={max(1, int(self.per_file_timeout))}",
            "--jobs=1",  # parallel shards instead: osemgrep -j 2 doubled CPU time here
            "--",
            *files,
        ]
        return argv

    def parse(self, stdout: bytes, stderr: bytes, files: Sequence[str]) -> BatchResult:
        try:
            # a file with binary bytes makes semgrep echo invalid UTF-8 into its JSON
            doc = json.loads(stdout.decode("utf-8", errors="replace"))
        except ValueError as exc:
            tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ScannerFailed(f"semgrep produced no JSON report: {tail[0][:300]}") from exc
        out = BatchResult()
        failed: dict[str, str] = {}
        for err in doc.get("errors", []):
            path = err.get("path")
            message = " ".join(str(err.get("message", err.get("type", "error"))).split())[:500]
            if not path:
                raise ScannerFailed(f"semgrep rules or run failed: {message}")
            failed.setdefault(_rel(str(path)), message)
        scanned = {_rel(str(p)) for p in (doc.get("paths") or {}).get("scanned", [])}
        for path in files:
            if path in failed:
                out.errors.append(ScanError("semgrep", path, failed[path]))
            elif path not in scanned:
                out.errors.append(ScanError("semgrep", path, "semgrep did not scan this file"))
            else:
                out.hits[path] = []
        for item in doc.get("results", []):
            path = _rel(str(item["path"]))
            if path in out.hits:
                out.hits[path].append(_hit(item))
        return out


def _rel(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _hit(item: Mapping[str, Any]) -> Hit:
    check_id = str(item["check_id"])
    rule_id = check_id.rsplit(".", 1)[-1]
    extra = item.get("extra") or {}
    meta = extra.get("metadata") or {}
    ours = meta.get("nebsign") or {}
    native = str(extra.get("severity", "WARNING")).upper()
    try:
        severity = Severity(ours["severity"]) if "severity" in ours else _SEVERITY[native]
    except (KeyError, ValueError):
        severity = Severity.MEDIUM
    try:
        confidence = Confidence(str(meta.get("confidence", "high")).lower())
    except ValueError:
        confidence = Confidence.MEDIUM
    cwe = meta.get("cwe") or []
    if isinstance(cwe, str):
        cwe = [cwe]
    start, end = item.get("start") or {}, item.get("end") or {}
    return Hit(
        rule_id=rule_id,
        line=int(start["line"]),
        column=int(start["col"]) if "col" in start else None,
        end_line=int(end["line"]) if "line" in end else None,
        end_column=int(end["col"]) if "col" in end else None,
        severity=severity,
        confidence=confidence,
        title=str(ours.get("title", rule_id)),
        message=" ".join(str(extra.get("message", "")).split()),
        recommendation=str(ours.get("recommendation", "")),
        cwe=tuple(str(c).split(":")[0].strip() for c in cwe),
        properties={
            "semgrep_severity": native,
            "equivalent": sorted(str(b) for b in ours.get("bandit") or []),
        },
    )
