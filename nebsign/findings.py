"""The one finding model: SAST, DAST and third-party audits all produce these.

A :class:`Finding` is a frozen value. Scanner-native data (bandit's own
severity label, semgrep's metadata, an auditor's id) lives in ``properties``
and is never thrown away. :func:`fingerprint` gives an identity that survives
line moves and unrelated edits: rule + path + normalized code + occurrence
index, hashed offline.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from nebsign._internal import fields
from nebsign._internal.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    canonical_json_simple,
    parse_json_object,
)
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError

__all__ = [
    "MAX_FINDINGS_BYTES",
    "Confidence",
    "Finding",
    "Location",
    "Severity",
    "Source",
    "Status",
    "StatusNote",
    "assign_fingerprints",
    "findings_from_json",
    "findings_to_json",
    "fingerprint",
    "normalize_snippet",
    "snippet_lines",
    "verdict_predicate",
]

MAX_FINDINGS_BYTES = 64 * 1024 * 1024


class Source(enum.Enum):
    """Which capability produced a finding."""

    SAST = "sast"
    DAST = "dast"
    AUDIT = "audit"


class Severity(enum.Enum):
    """nebsign's severity scale; each tool's own label stays in ``properties``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info (higher is worse)."""
        return _SEVERITY_RANK[self]

    @property
    def security_severity(self) -> str:
        """GitHub's numeric ``security-severity`` (CVSS-like, 0.0-10.0)."""
        return _SECURITY_SEVERITY[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


class Confidence(enum.Enum):
    """How sure the tool is that the finding is real."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(enum.Enum):
    """Triage state of a finding."""

    OPEN = "open"
    FIXED = "fixed"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED_RISK = "accepted-risk"
    FALSE_POSITIVE = "false-positive"


@dataclass(frozen=True, slots=True)
class StatusNote:
    """Who set a non-open status, why, and until when it holds."""

    who: str
    why: str
    until: date | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"who": self.who, "why": self.why}
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


#: a location's line and column fields, with the name an error gives each
_POSITIONS = {n: f"finding location: {n}" for n in ("line", "column", "end_line", "end_column")}


@dataclass(frozen=True, slots=True)
class Location:
    """Either a source position (``path`` + ``line``) or a URL + parameter + method."""

    path: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    url: str | None = None
    parameter: str | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        if self.path is None and self.url is None:
            raise InputError("finding location: needs a path or a url")
        for name, label in _POSITIONS.items():
            value = getattr(self, name)
            if value is not None:
                fields.integer(value, label, low=1, expected="must be a positive integer")

    def __str__(self) -> str:
        if self.path is not None:
            text = self.path
            if self.line is not None:
                text += f":{self.line}"
                if self.column is not None:
                    text += f":{self.column}"
            return text
        text = f"{self.method or 'GET'} {self.url}"
        return f"{text} [{self.parameter}]" if self.parameter else text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Finding:
    """One normalized result of a scanner or auditor."""

    source: Source
    tool: str
    rule_id: str
    severity: Severity
    confidence: Confidence
    title: str
    message: str
    location: Location
    recommendation: str = ""
    cwe: tuple[str, ...] = ()
    swc: tuple[str, ...] = ()
    snippet: str = ""
    fingerprint: str = ""
    status: Status = Status.OPEN
    status_note: StatusNote | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def with_status(self, status: Status, note: StatusNote | None) -> Finding:
        return replace(self, status=status, status_note=note)

    def sort_key(self) -> tuple[Any, ...]:
        loc = self.location
        return (
            loc.path or loc.url or "",
            loc.line or 0,
            loc.column or 0,
            self.tool,
            self.rule_id,
            self.fingerprint,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source.value,
            "tool": self.tool,
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "title": self.title,
            "message": self.message,
            "recommendation": self.recommendation,
            "location": self.location.to_dict(),
            "cwe": list(self.cwe),
            "swc": list(self.swc),
            "snippet": self.snippet,
            "fingerprint": self.fingerprint,
            "status": self.status.value,
            "properties": dict(self.properties),
        }
        if self.status_note is not None:
            out["status_note"] = self.status_note.to_dict()
        return out

    @classmethod
    def from_dict(cls, obj: object, what: str = "finding") -> Finding:
        """Parse one finding; :class:`InputError` for anything malformed."""
        obj = fields.obj(obj, what, expected="not an object")
        try:
            loc = fields.obj(
                obj["location"],
                f"{what}: location",
                allowed=_LOCATION_FIELDS,
                expected="must be an object of known fields",
            )
            typed: dict[str, Any] = {
                k: fields.integer(v, what) if k in _INT_FIELDS else fields.string(v, what)
                for k, v in loc.items()
            }
            location = Location(**typed)
            note = None
            if "status_note" in obj:
                raw = fields.obj(obj["status_note"], f"{what}: status_note")
                note = StatusNote(
                    who=fields.string(raw.get("who"), what),
                    why=fields.string(raw.get("why"), what),
                    until=date.fromisoformat(fields.string(raw["until"], what))
                    if raw.get("until") is not None
                    else None,
                )
            props = fields.obj(obj.get("properties", {}), f"{what}: properties")
            return cls(
                source=Source(obj["source"]),
                tool=fields.string(obj["tool"], what),
                rule_id=fields.string(obj["rule_id"], what),
                severity=Severity(obj["severity"]),
                confidence=Confidence(obj["confidence"]),
                title=fields.string(obj["title"], what),
                message=fields.string(obj["message"], what),
                recommendation=fields.string(obj.get("recommendation", ""), what),
                location=location,
                cwe=tuple(fields.string(c, what) for c in fields.arr(obj.get("cwe", []), what)),
                swc=tuple(fields.string(c, what) for c in fields.arr(obj.get("swc", []), what)),
                snippet=fields.string(obj.get("snippet", ""), what),
                fingerprint=fields.string(obj.get("fingerprint", ""), what),
                status=Status(obj.get("status", "open")),
                status_note=note,
                properties=props,
            )
        except KeyError as exc:
            raise InputError(f"{what}: missing field {exc.args[0]!r}") from exc
        except (ValueError, TypeError) as exc:
            raise InputError(f"{what}: {exc}") from exc


_WS = re.compile(r"\s+")
_INT_FIELDS = frozenset({"line", "column", "end_line", "end_column"})
_LOCATION_FIELDS = frozenset(Location.__slots__)


def normalize_snippet(lines: Sequence[str]) -> str:
    """Code with all whitespace runs collapsed: immune to re-indentation."""
    return _WS.sub(" ", " ".join(lines)).strip()


def fingerprint(rule_id: str, path: str, normalized: str, occurrence: int) -> str:
    """Hex SHA-256 over rule, path, normalized code and occurrence index."""
    payload = "\0".join(("nebsign-finding-v1", rule_id, path, normalized, str(occurrence)))
    return sha256_bytes(payload.encode("utf-8"))


def snippet_lines(text_lines: Sequence[str], start: int, end: int | None) -> list[str]:
    """Lines ``start..end`` (1-based, inclusive): the whole finding, as its fingerprint needs."""
    last = min(max(start, end or start), len(text_lines))
    return list(text_lines[start - 1 : last])


def assign_fingerprints(findings: Iterable[Finding]) -> list[Finding]:
    """Give each finding its fingerprint; the occurrence index counts earlier twins.

    Twins are findings with the same rule, path and normalized code; they are
    numbered in (line, column) order so a duplicate of an accepted finding gets
    a new fingerprint. The rules of findings folded into this one
    (``properties["also_reported_by"]``) are part of its identity: accepting
    it never accepts a finding of another rule.
    """
    ordered = sorted(findings, key=lambda f: (f.location.path or "", f.sort_key()))
    seen: dict[tuple[str, str, str], int] = {}
    out: list[Finding] = []
    for item in ordered:
        norm = normalize_snippet([item.snippet])
        also = item.properties.get("also_reported_by") or []
        rule = "+".join([item.rule_id, *(f"{a['tool']}:{a['rule_id']}" for a in also)])
        key = (rule, item.location.path or item.location.url or "", norm)
        index = seen.get(key, 0)
        seen[key] = index + 1
        out.append(replace(item, fingerprint=fingerprint(key[0], key[1], norm, index)))
    return out


def findings_to_json(findings: Iterable[Finding]) -> bytes:
    """Canonical JSON of a finding list, sorted: byte-identical for equal inputs."""
    items = sorted(findings, key=Finding.sort_key)
    return canonical_json({"findings": [f.to_dict() for f in items]})


def findings_from_json(raw: bytes, what: str = "findings") -> list[Finding]:
    """Parse a finding list written by :func:`findings_to_json`."""
    obj = parse_json_object(raw, what, limit=MAX_FINDINGS_BYTES, canonical_ints=True)
    items = fields.arr(obj.get("findings"), f"{what}: 'findings'", limit=MAX_FINDINGS_BYTES)
    return [Finding.from_dict(item, f"{what}[{i}]") for i, item in enumerate(items)]


def _simple(value: object) -> bool:
    """True if :func:`canonical_json_simple`'s precondition holds for *value*."""
    if value is None or type(value) in (str, bool):
        return True
    if type(value) is int:
        return abs(value) <= MAX_SAFE_INTEGER
    if type(value) is list:
        return all(_simple(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and k.isascii() and _simple(v) for k, v in value.items())
    return False


def _canonical_rows(rows: list[dict[str, Any]]) -> bytes:
    """RFC 8785 bytes of finding rows; at C speed when they are simple values
    (integers, ASCII keys; the usual case), else by the rfc8785 package."""
    if _simple(rows):
        try:
            return canonical_json_simple(rows)
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 refuse it properly
    return canonical_json(rows)


def verdict_predicate(
    *,
    passed: bool,
    reason: str,
    policy_digest: str,
    tools: Mapping[str, str],
    counts: Mapping[str, Any],
    findings: Iterable[Finding],
) -> dict[str, Any]:
    """The keys every verdict predicate shares, for any source (SAST, DAST, audits):
    ``verdict``, ``reason``, ``policy_digest``, ``tools``, ``counts``, ``findings``
    (sorted, :meth:`Finding.to_dict`) and ``findings_digest`` (SHA-256 of their
    canonical JSON). Each capability adds its own keys to the returned dict."""
    rows = [f.to_dict() for f in sorted(findings, key=Finding.sort_key)]
    return {
        "verdict": "pass" if passed else "fail",
        "reason": reason,
        "policy_digest": policy_digest,
        "tools": dict(tools),
        "counts": dict(counts),
        "findings": rows,
        "findings_digest": f"sha256:{sha256_bytes(_canonical_rows(rows))}",
    }
