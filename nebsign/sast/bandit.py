"""Bandit backend: the real ``bandit`` run as subprocesses, sharded across cores.

Bandit is single-threaded, so the file list is split into ``jobs`` shards of
similar size run side by side. A shard gets a time budget of
``per_file_timeout`` per file; if it overruns, its files are re-run one per
process with ``per_file_timeout`` each, so exactly the slow file is reported
as a scan error and every other file still gets its results.

nebsign runs bandit with ``--ignore-nosec`` and applies ``# nosec`` itself so
that every suppression is counted in the summary, never silent.
"""

from __future__ import annotations

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

__all__ = ["BanditScanner", "load_profile_mapping"]

_MAX_PROFILE = 256 * 1024
_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_CONFIDENCE = {"HIGH": Confidence.HIGH, "MEDIUM": Confidence.MEDIUM, "LOW": Confidence.LOW}
_TEST_NAME = re.compile(r"B\d{3}|[a-z0-9]+(?:_[a-z0-9]+)+")


def load_profile_mapping(raw: bytes) -> tuple[dict[str, Severity], dict[str, str]]:
    """nebsign's ``nebsign: {severity, cwe}`` tables from a bandit profile."""
    import yaml  # type: ignore[import-untyped]

    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"bandit profile: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError("bandit profile: expected a mapping")
    extra = doc.get("nebsign") or {}
    if not isinstance(extra, dict):
        raise InputError("bandit profile: 'nebsign' must be a mapping")
    try:
        severity = {str(k): Severity(v) for k, v in (extra.get("severity") or {}).items()}
        cwe = {str(k): str(v) for k, v in (extra.get("cwe") or {}).items()}
    except (ValueError, AttributeError) as exc:
        raise InputError(f"bandit profile: bad 'nebsign' table: {exc}") from exc
    return severity, cwe


class BanditScanner(Scanner):
    """``bandit -c PROFILE -f json --ignore-nosec FILES`` in ``jobs`` parallel shards."""

    name: ClassVar[str] = "bandit"
    install_hint: ClassVar[str] = install_line("scan")
    suppression: ClassVar[re.Pattern[str]] = re.compile(r"#\s*nosec\b:?([\w ,-]*)")

    def __init__(self, profile: Path, *, per_file_timeout: float = 30.0, jobs: int = 1) -> None:
        super().__init__(per_file_timeout=per_file_timeout, jobs=jobs)
        self.profile = profile
        self._raw = read_bounded(profile, _MAX_PROFILE, "bandit profile")
        self._mapping: tuple[dict[str, Severity], dict[str, str]] | None = None
        self._version: str | None = None

    def _tables(self) -> tuple[dict[str, Severity], dict[str, str]]:
        # parsed on first use: keeps PyYAML off the path of a clean pre-commit run
        if self._mapping is None:
            self._mapping = load_profile_mapping(self._raw)
        return self._mapping

    def version(self) -> str:
        if self._version is None:
            self._version = tool_version(self.executable(), "bandit")
        return self._version

    def config_digest(self) -> str:
        return sha256_bytes(self._raw)

    def listed_rules(self, text: str) -> set[str]:
        # bandit: "# nosec B602, B603" or test names; other words are prose
        return {n for n in re.split(r"[\s,]+", text) if _TEST_NAME.fullmatch(n)}

    def aliases(self, hit: Hit) -> set[str]:
        return {hit.rule_id, str(hit.properties.get("test_name", ""))}

    def argv(self, files: Sequence[str]) -> list[str]:
        return [
            self.executable(),
            "-c",
            str(self.profile.resolve()),
            "-f",
            "json",
            "-q",
            "--ignore-nosec",
            # bandit's default excludes (.git, CVS, __pycache__, ...) match anywhere in a
            # path, as substrings: emptied, so every file given is scanned
            "--exclude",
            "",
            "--",
            *files,
        ]

    def parse(self, stdout: bytes, stderr: bytes, files: Sequence[str]) -> BatchResult:
        try:
            doc = json.loads(stdout.decode("utf-8", errors="replace"))
        except ValueError as exc:
            tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ScannerFailed(f"bandit produced no JSON report: {tail[0][:300]}") from exc
        out = BatchResult()
        failed: set[str] = set()
        for err in doc.get("errors", []):
            path = _rel(str(err.get("filename", "")))
            failed.add(path)
            out.errors.append(ScanError("bandit", path, str(err.get("reason", "error"))[:500]))
        # bandit lists every file it read under "metrics": that, not the absence of an
        # error, is what confirms a file as scanned
        scanned = {_rel(str(name)) for name in doc.get("metrics") or {} if name != "_totals"}
        for path in files:
            if path in failed:
                continue
            if path in scanned:
                out.hits[path] = []
            else:
                out.errors.append(ScanError("bandit", path, "bandit did not scan this file"))
        for item in doc.get("results", []):
            path = _rel(str(item["filename"]))
            if path in out.hits:
                out.hits[path].append(self._hit(item))
        return out

    def _hit(self, item: Mapping[str, Any]) -> Hit:
        test_id = str(item["test_id"])
        severity_table, cwe_table = self._tables()
        native_sev = str(item.get("issue_severity", "MEDIUM")).upper()
        native_cwe = item.get("issue_cwe") or {}
        native_cwe_id = f"CWE-{native_cwe['id']}" if native_cwe.get("id") else ""
        cwe = cwe_table.get(test_id, native_cwe_id)
        line_range = [int(n) for n in item.get("line_range") or [item["line_number"]]]
        col = item.get("col_offset")
        end_col = item.get("end_col_offset")
        text = str(item.get("issue_text", ""))
        return Hit(
            rule_id=test_id,
            line=int(item["line_number"]),
            column=int(col) + 1 if isinstance(col, int) else None,
            end_line=max(line_range),
            end_column=int(end_col) + 1 if isinstance(end_col, int) and end_col > 0 else None,
            severity=severity_table.get(
                f"{test_id}/{native_sev}",
                severity_table.get(test_id, _SEVERITY.get(native_sev, Severity.MEDIUM)),
            ),
            confidence=_CONFIDENCE.get(
                str(item.get("issue_confidence", "")).upper(), Confidence.MEDIUM
            ),
            title=_title(item, test_id),
            message=text,
            recommendation=f"See {item['more_info']}" if item.get("more_info") else "",
            cwe=(cwe,) if cwe else (),
            properties={
                "bandit_severity": native_sev,
                "bandit_confidence": str(item.get("issue_confidence", "")),
                "bandit_cwe": native_cwe_id,
                "test_name": str(item.get("test_name", "")),
                "more_info": str(item.get("more_info", "")),
            },
        )


def _title(item: Mapping[str, Any], test_id: str) -> str:
    name = str(item.get("test_name") or test_id)
    if name == "blacklist":  # bandit's name for every call/import denylist test
        first = str(item.get("issue_text", "")).split(". ")[0].strip().rstrip(".")
        return first[:120] or test_id
    return name.replace("_", " ")


def _rel(path: str) -> str:
    return path[2:] if path.startswith("./") else path
