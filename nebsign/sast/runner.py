"""Run the scanners over a set of files: cache, normalize, suppress, fingerprint.

:func:`run_scan` is the one entry point used by the CLI, the pre-commit path
(:mod:`nebsign.sast.staged`), the demo and the benchmark. It reads every file
once (bounded), asks the cache, runs each scanner only on the files the cache
does not know (scanners run side by side), turns hits into findings, applies
inline suppressions (counted, never silent), merges a bandit finding into the
nebsign semgrep finding that names it as equivalent, and fingerprints the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nebsign import __version__
from nebsign._internal.readlimit import read_bounded
from nebsign.digest import sha256_bytes
from nebsign.findings import (
    Finding,
    Location,
    Source,
    assign_fingerprints,
    normalize_snippet,
    snippet_lines,
)
from nebsign.manifest import FileEntry, Manifest
from nebsign.sast.cache import ResultCache
from nebsign.sast.interface import BatchResult, Hit, ScanError, Scanner

__all__ = ["MAX_SOURCE_BYTES", "SECRET_CWES", "ScanOutcome", "Suppressed", "redact", "run_scan"]

MAX_SOURCE_BYTES = 8 * 1024 * 1024


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


def run_scan(
    root: Path,
    files: Sequence[str],
    scanners: Sequence[Scanner],
    *,
    cache: ResultCache | None = None,
    display: Mapping[str, str] | None = None,
) -> ScanOutcome:
    """Scan *files* (POSIX paths relative to *root*) with every scanner.

    *display* maps a scanned relative path to the path findings should name
    (the staged scan scans a temporary copy but reports repository paths).
    """
    contents: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    for rel in sorted(set(files)):
        data = read_bounded(root / rel, MAX_SOURCE_BYTES, "source file")
        contents[rel] = data
        digests[rel] = sha256_bytes(data)
    names = display or {}
    tools = {s.name: s.version() for s in scanners}
    configs = {s.name: s.config_digest() for s in scanners}

    def one(scanner: Scanner) -> tuple[BatchResult, int, int]:
        known: dict[str, list[Hit]] = {}
        # nebsign's own version joins the key: hits are parsed by nebsign's code
        version = f"{tools[scanner.name]}+nebsign-{__version__}"
        if cache is not None:
            known = cache.get_many(digests.values(), scanner.name, version, configs[scanner.name])
        todo = [rel for rel in contents if digests[rel] not in known]
        fresh = scanner.scan(root, todo) if todo else BatchResult()
        if cache is not None and fresh.hits:
            cache.put_many(
                {digests[rel]: hits for rel, hits in fresh.hits.items()},
                scanner.name,
                version,
                configs[scanner.name],
            )
        merged = BatchResult(errors=list(fresh.errors))
        for rel in contents:
            if rel in fresh.hits:
                merged.hits[rel] = fresh.hits[rel]
            elif digests[rel] in known:
                merged.hits[rel] = known[digests[rel]]
        return merged, len(contents) - len(todo), len(todo)

    with ThreadPoolExecutor(max_workers=max(1, len(scanners))) as pool:
        results = list(pool.map(one, scanners))

    findings: list[Finding] = []
    suppressed: list[Suppressed] = []
    errors: list[ScanError] = []
    for scanner, (batch, _hits, _misses) in zip(scanners, results, strict=True):
        errors.extend(
            replace(e, path=names.get(e.path, e.path)) if e.path else e for e in batch.errors
        )
        for rel, hits in batch.hits.items():
            # split on "\n" only, as the scanners count lines (str.splitlines also
            # splits on form feeds and other separators common in old code)
            text = contents[rel].decode("utf-8", errors="replace")
            lines = [line.removesuffix("\r") for line in text.split("\n")]
            shown = names.get(rel, rel)
            for hit in hits:
                window = scanner.suppression_window(lines, hit)
                if scanner.suppressed_by(window, hit):
                    marks = (scanner.suppression.search(w) for w in window)
                    comment = next((m.string[m.start() :].strip() for m in marks if m), "")
                    suppressed.append(
                        Suppressed(scanner.name, hit.rule_id, shown, hit.line, comment)
                    )
                    continue
                findings.append(_finding(scanner.name, hit, shown, lines))
    manifest = Manifest(
        files=tuple(
            FileEntry(names.get(rel, rel), len(contents[rel]), digests[rel])
            for rel in sorted(contents, key=lambda r: names.get(r, r))
        )
    )
    return ScanOutcome(
        findings=tuple(
            sorted(assign_fingerprints(_merge_equivalents(findings)), key=Finding.sort_key)
        ),
        suppressed=tuple(sorted(suppressed, key=lambda s: (s.path, s.line, s.tool, s.rule_id))),
        errors=tuple(sorted(errors, key=lambda e: (e.path or "", e.tool, e.message))),
        tools=tools,
        configs=configs,
        manifest=manifest,
        cache_hits=sum(r[1] for r in results),
        cache_misses=sum(r[2] for r in results),
        files=tuple(sorted(names.get(r, r) for r in contents)),
    )


#: CWEs whose findings quote a secret: their code and messages are redacted
SECRET_CWES = frozenset({"CWE-798", "CWE-321", "CWE-259", "CWE-522", "CWE-312"})
_LITERAL = re.compile(r"([rbuRBU]{0,2})('''|\"\"\"|'|\")(.*?)(\2)", re.DOTALL)
_KEY_BODY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z ]*-----|$)")


def redact(text: str) -> str:
    """*text* with string literals and key bodies replaced: reports never carry secrets."""
    text = _KEY_BODY.sub("<redacted private key>", text)
    return _LITERAL.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>{m.group(4)}", text)


def _finding(tool: str, hit: Hit, path: str, lines: Sequence[str]) -> Finding:
    snippet = normalize_snippet(snippet_lines(lines, hit.line, hit.end_line)) if lines else ""
    message = hit.message
    if SECRET_CWES & set(hit.cwe):
        snippet, message = redact(snippet), redact(message)
    return Finding(
        source=Source.SAST,
        tool=tool,
        rule_id=hit.rule_id,
        severity=hit.severity,
        confidence=hit.confidence,
        title=hit.title,
        message=message,
        recommendation=hit.recommendation,
        location=Location(
            path=path,
            line=hit.line,
            column=hit.column,
            end_line=hit.end_line,
            end_column=hit.end_column,
        ),
        cwe=hit.cwe,
        snippet=snippet,
        properties=dict(hit.properties),
    )


def _merge_equivalents(findings: list[Finding]) -> list[Finding]:
    """Fold a bandit finding into the semgrep finding that lists it as equivalent.

    Both must name the same file and overlapping lines. The semgrep finding
    (nebsign's own rule, message and recommendation) stays, recording the
    bandit test under ``properties["also_reported_by"]``.
    """
    by_path: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        if f.tool == "semgrep" and f.properties.get("equivalent"):
            by_path.setdefault(f.location.path or "", []).append(i)
    extra: dict[int, list[dict[str, str]]] = {}
    dropped: set[int] = set()
    for j, f in enumerate(findings):
        if f.tool != "bandit":
            continue
        for i in by_path.get(f.location.path or "", []):
            s = findings[i]
            s_first, s_last = s.location.line or 0, s.location.end_line or s.location.line or 0
            b_first, b_last = f.location.line or 0, f.location.end_line or f.location.line or 0
            if f.rule_id in s.properties["equivalent"] and b_first <= s_last and s_first <= b_last:
                extra.setdefault(i, []).append({"tool": "bandit", "rule_id": f.rule_id})
                dropped.add(j)
                break
    out = []
    for i, f in enumerate(findings):
        if i in dropped:
            continue
        if i in extra:
            props = dict(f.properties)
            props["also_reported_by"] = sorted(extra[i], key=lambda d: d["rule_id"])
            f = replace(f, properties=props)
        out.append(f)
    return out
