"""SAST <-> DAST correlation: one weakness proven twice.

A DAST finding (route + parameter + weakness class) is linked to a SAST
finding when both name the same CWE and the source around the SAST finding
is the handler of that route: the enclosing function (or the decorators just
above it) contains the route as a string literal, and the function mentions
the parameter name as a string literal. Links are added to the DAST
finding's ``properties.sast_links``; nothing else changes. Source files are
read with a size limit, only inside the given root.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nebsign._internal.readlimit import read_bounded
from nebsign.dast.policy import DastVerdict
from nebsign.errors import InputError
from nebsign.findings import Finding

__all__ = ["correlate", "correlate_verdict", "handler_of"]

MAX_SOURCE_BYTES = 4 * 1024 * 1024
MAX_RESULT_BYTES = 64 * 1024 * 1024
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+\w+")
#: related weakness classes count as the same (e.g. CWE-89 SQL injection)
_SAME = {"CWE-943": "CWE-89", "CWE-77": "CWE-78", "CWE-23": "CWE-22", "CWE-36": "CWE-22"}


def _cwes(f: Finding) -> set[str]:
    return {_SAME.get(c.upper(), c.upper()) for c in f.cwe}


def handler_of(lines: list[str], line: int) -> str:
    """The text of the function enclosing 1-based *line*, with its decorators."""
    start = line - 1
    while start > 0 and not _DEF.match(lines[start]):
        start -= 1
    head = _DEF.match(lines[start])
    indent = len(head.group(1)) if head else 0
    top = start
    while top > 0 and lines[top - 1].lstrip().startswith("@"):
        top -= 1
    end = start + 1
    while end < len(lines):
        text = lines[end]
        if (
            text.strip()
            and len(text) - len(text.lstrip()) <= indent
            and not text.lstrip().startswith((")", "]", "}"))
        ):
            break
        end += 1
    return "\n".join(lines[top:end])


def correlate(dast: list[Finding], sast: list[Finding], root: Path) -> list[Finding]:
    """DAST findings with ``sast_links`` added where a SAST finding is the same weakness."""
    cache: dict[str, list[str] | None] = {}
    out = []
    for d in dast:
        if (
            d.location.url is None
            or d.properties.get("kind") != "active"
            or not d.location.parameter
        ):
            out.append(d)
            continue
        route = urlsplit(d.location.url).path
        links: list[dict[str, Any]] = []
        for s in sast:
            if s.location.path is None or s.location.line is None or not (_cwes(s) & _cwes(d)):
                continue
            if s.location.path not in cache:
                cache[s.location.path] = _read(root, s.location.path)
            lines = cache[s.location.path]
            if lines is None or s.location.line > len(lines):
                continue
            body = handler_of(lines, s.location.line)
            if re.search(rf"[\"']{re.escape(route)}[\"']", body) and re.search(
                rf"[\"']{re.escape(d.location.parameter)}[\"']", body
            ):
                links.append(
                    {
                        "path": s.location.path,
                        "line": s.location.line,
                        "rule_id": s.rule_id,
                        "tool": s.tool,
                        "fingerprint": s.fingerprint,
                    }
                )
        out.append(replace(d, properties={**d.properties, "sast_links": links}) if links else d)
    return out


def _read(root: Path, rel: str) -> list[str] | None:
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    try:
        return (
            read_bounded(path, MAX_SOURCE_BYTES, "source").decode("utf-8", "replace").splitlines()
        )
    except InputError:
        return None


def sast_findings(raw: bytes, what: str) -> list[Finding]:
    """Findings of a ``scan sast --format json`` result (or a findings file)."""
    from nebsign._internal.canonical import parse_json_object

    obj = parse_json_object(raw, what, limit=MAX_RESULT_BYTES)
    items = obj.get("findings")
    if not isinstance(items, list):
        raise InputError(f"{what}: no 'findings' list (expected `scan sast --format json` output)")
    return [Finding.from_dict(item, f"{what}: findings[{i}]") for i, item in enumerate(items)]


def correlate_verdict(verdict: DastVerdict, sast_path: Path, root: Path) -> DastVerdict:
    raw = read_bounded(sast_path, MAX_RESULT_BYTES, "SAST result")
    sast = sast_findings(raw, str(sast_path))
    linked = correlate(list(verdict.findings), sast, root)
    failing_fp = {f.fingerprint for f in verdict.failing}
    return replace(
        verdict,
        findings=tuple(linked),
        failing=tuple(f for f in linked if f.fingerprint in failing_fp),
    )
