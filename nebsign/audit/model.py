"""One imported audit: who audited which bytes, and what they found (values, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nebsign.audit._fields import InvalidAuditInput
from nebsign.findings import Finding

__all__ = ["Audit", "ScopeEntry", "scrub_local_paths"]

_HEX = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha1": re.compile(r"[0-9a-f]{40}")}


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    """One audited file: its path and the digest the auditor recorded.

    SHA-1 (as Consensys lists it) is kept and labelled weak: it is never
    compared with, or mistaken for, a SHA-256.
    """

    path: str
    algorithm: str
    digest: str

    def __post_init__(self) -> None:
        pattern = _HEX.get(self.algorithm)
        if pattern is None or not pattern.fullmatch(self.digest):
            raise InvalidAuditInput(
                f"scope {self.path!r}: {self.algorithm} must be lowercase hex of the right length"
            )

    @property
    def weak(self) -> bool:
        return self.algorithm != "sha256"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, self.algorithm: self.digest}
        if self.weak:
            out["weak"] = True
        return out


@dataclass(frozen=True, slots=True)
class Audit:
    """An imported audit or analyser run, whatever its original format."""

    kind: str
    auditor: str
    findings: tuple[Finding, ...]
    scope: tuple[ScopeEntry, ...] = ()
    report_title: str = ""
    report_url: str = ""
    audit_date: date | None = None
    fix_review_date: date | None = None
    repository: str = ""
    commit: str = ""
    tools: Mapping[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Who, what and when, without the findings (for ``sources`` in the predicate)."""
        return {
            "kind": self.kind,
            "auditor": self.auditor,
            "report": {"title": self.report_title, "url": self.report_url},
            "dates": {
                "audit": self.audit_date.isoformat() if self.audit_date else None,
                "fix_review": self.fix_review_date.isoformat() if self.fix_review_date else None,
            },
            "repository": self.repository,
            "commit": self.commit,
            "findings": len(self.findings),
            "scope": len(self.scope),
        }


#: absolute paths of a user's machine (POSIX homes, temp dirs, Windows profiles)
_LOCAL_PATH = re.compile(
    r"(?:[A-Za-z]:[\\/](?:Users|Documents and Settings)[\\/]|"
    r"/(?:home|Users|root|tmp|private|var/folders|mnt|media|opt|srv|work)/)[^\s()\[\]<>\"'`#,;]*"
)


def scrub_local_paths(text: str, known: Mapping[str, str] | None = None) -> str:
    """*text* with absolute local paths replaced: first the known ones by their
    relative names, then anything else that looks like one by ``<local path>``."""
    for absolute, relative in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        if absolute:
            text = text.replace(absolute, relative)
    return _LOCAL_PATH.sub("<local path>", text)
