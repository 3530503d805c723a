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
import tempfile
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
from nebsign.sast.sources import SOURCE_TOOL, prepare, scan_name, source_hits, text_lines
from nebsign.sast.suppress import Comments, decide

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
    #: executable files looked at and found not to be Python (path, size, sha256)
    not_python: tuple[FileEntry, ...] = field(default=())


def run_scan(
    root: Path,
    files: Sequence[str],
    scanners: Sequence[Scanner],
    *,
    cache: ResultCache | None = None,
    display: Mapping[str, str] | None = None,
    reason_required: bool = False,
    extra: Mapping[str, Sequence[Hit]] | None = None,
) -> ScanOutcome:
    """Scan *files* (POSIX paths relative to *root*) with every scanner.

    *display* maps a scanned relative path to the path findings should name
    (the staged scan scans a temporary copy but reports repository paths).
    Each file is read once and the scanners read a private copy of what
    Python executes (:func:`nebsign.sast.sources.prepare`) under a ``.py``
    name, so what was hashed is what was scanned. A file counts as scanned
    by a scanner only if that scanner itself listed it. *extra* adds hits of
    nebsign's own by relative path (git attributes, found by the caller).
    """
    names = display or {}
    contents: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    for rel in sorted(set(files)):
        data = read_bounded(root / rel, MAX_SOURCE_BYTES, "source file")
        contents[rel] = data
        digests[rel] = sha256_bytes(data)
    shown = {rel: names.get(rel, rel) for rel in contents}
    tools = {s.name: s.version() for s in scanners}
    configs = {s.name: s.config_digest() for s in scanners}
    findings: list[Finding] = []
    errors: list[ScanError] = []
    scan_of: dict[str, str] = {}  # scanner-visible name -> rel
    for rel, data in contents.items():
        hits, problem = source_hits(data)
        hits += (extra or {}).get(rel, [])
        if hits:
            lines = text_lines(data)
            findings.extend(_finding(SOURCE_TOOL, h, shown[rel], lines) for h in hits)
        if problem is not None:
            errors.append(ScanError(SOURCE_TOOL, shown[rel], problem))
        else:
            scan_of[scan_name(shown[rel])] = rel

    def key(rel: str) -> tuple[str, str]:
        return (digests[rel], shown[rel])

    # nebsign's own version joins the key: hits are parsed by nebsign's code
    versions = {s.name: f"{tools[s.name]}+nebsign-{__version__}" for s in scanners}
    known: dict[str, dict[tuple[str, str], list[Hit]]] = {s.name: {} for s in scanners}
    if cache is not None:
        keys = [key(r) for r in scan_of.values()]
        for s in scanners:
            known[s.name] = cache.get_many(keys, s.name, versions[s.name], configs[s.name])
    todo = {
        s.name: [n for n, rel in scan_of.items() if key(rel) not in known[s.name]] for s in scanners
    }

    with tempfile.TemporaryDirectory(prefix="nebsign-scan-") as tmp:
        base = Path(tmp)
        for name in sorted({n for names in todo.values() for n in names}):
            rel = scan_of[name]
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(prepare(shown[rel], contents[rel]))

        def one(scanner: Scanner) -> tuple[BatchResult, int, int]:
            mine, cached = todo[scanner.name], known[scanner.name]
            fresh = scanner.scan(base, mine) if mine else BatchResult()
            merged = BatchResult()
            merged.errors = [replace(e, path=_shown(e.path, scan_of, shown)) for e in fresh.errors]
            for name, rel in scan_of.items():
                if name in fresh.hits:
                    merged.hits[rel] = fresh.hits[name]
                elif key(rel) in cached:
                    merged.hits[rel] = cached[key(rel)]
            if cache is not None and fresh.hits:
                cache.put_many(
                    {key(scan_of[n]): hits for n, hits in fresh.hits.items()},
                    scanner.name,
                    versions[scanner.name],
                    configs[scanner.name],
                )
            return merged, len(scan_of) - len(mine), len(mine)

        with ThreadPoolExecutor(max_workers=max(1, len(scanners))) as pool:
            results = list(pool.map(one, scanners))

    suppressed: list[Suppressed] = []
    for scanner, (batch, _, _) in zip(scanners, results, strict=True):
        errors.extend(batch.errors)
        for rel, hits in batch.hits.items():
            if not hits:
                continue
            lines = text_lines(contents[rel])
            comments = Comments(prepare(shown[rel], contents[rel]).decode("utf-8", "replace"))
            for hit in hits:
                decision = decide(scanner, comments, hit, reason_required=reason_required)
                if decision.suppressed:
                    suppressed.append(
                        Suppressed(
                            scanner.name, hit.rule_id, shown[rel], hit.line, decision.comment
                        )
                    )
                    continue
                finding = _finding(scanner.name, hit, shown[rel], lines)
                if decision.refused:
                    props = {**finding.properties, "suppression_refused": decision.refused}
                    finding = replace(finding, properties=props)
                findings.append(finding)
    manifest = Manifest(
        files=tuple(
            FileEntry(shown[rel], len(contents[rel]), digests[rel])
            for rel in sorted(contents, key=lambda r: shown[r])
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
        files=tuple(sorted(shown.values())),
    )


def _shown(path: str | None, scan_of: Mapping[str, str], shown: Mapping[str, str]) -> str | None:
    if path is None:
        return None
    rel = scan_of.get(path)
    return shown[rel] if rel is not None else path


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

    Both must name the same file and start on the same line. The semgrep finding
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
            s_first, b_first = s.location.line or 0, f.location.line or 0
            # the same statement only: a finding starting elsewhere inside a long
            # semgrep match stays its own finding (never hidden by the other's acceptance)
            if f.rule_id in s.properties["equivalent"] and b_first == s_first:
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
