"""The baseline: findings a named person accepted, why, and until when, for any source.

A TOML file of ``[[finding]]`` tables, one format for SAST, DAST and audits; an
entry accepts a finding only if fingerprint, rule and place all match (the
fingerprint alone is computable from public fields, so an entry for one rule
or place must never accept another). The place (:func:`place`, written as
``path``) is the finding's file, or for a finding about a running service
(DAST) its HTTP method and URL. The SAST fingerprint has no line number in it
(rule + path + normalized code + occurrence index), so moving code keeps the
acceptance while a *second* identical finding in the same file gets a new
fingerprint and stays open; a DAST fingerprint is rule + method + route +
parameter. Entries whose ``until`` date has passed no longer hide anything.
Entries that match no current finding are reported as fixed.

    [[finding]]
    fingerprint = "3f1c...e9"        # from `nebsign scan sast --format json`
    rule = "B608"                    # checked against the finding
    path = "app/db.py"               # DAST: "GET http://host/route"
    status = "accepted-risk"         # or "false-positive", "acknowledged"
    who = "alice@example.com"
    why = "query text is a constant table name from an enum"
    until = 2026-12-31
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from nebsign._internal import fields
from nebsign.errors import InputError
from nebsign.findings import Finding, Status, StatusNote
from nebsign.policy import load_toml

__all__ = ["MAX_BASELINE_BYTES", "Baseline", "BaselineEntry", "place", "render_baseline"]

MAX_BASELINE_BYTES = 4 * 1024 * 1024
_FP = re.compile(r"[0-9a-f]{64}")
_ACCEPTING = {Status.ACCEPTED_RISK, Status.FALSE_POSITIVE, Status.ACKNOWLEDGED}
_KEYS = {"fingerprint", "rule", "path", "status", "who", "why", "until"}


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    """One accepted finding."""

    fingerprint: str
    rule: str
    path: str
    status: Status
    who: str
    why: str
    until: date | None

    def expired(self, today: date) -> bool:
        return self.until is not None and self.until < today

    def note(self) -> StatusNote:
        return StatusNote(self.who, self.why, self.until)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "path": self.path,
            "status": self.status.value,
            "who": self.who,
            "why": self.why,
        }
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class Baseline:
    """Accepted findings by fingerprint."""

    entries: tuple[BaselineEntry, ...] = ()

    def get(self, finding: Finding) -> BaselineEntry | None:
        """The entry accepting *finding*: same fingerprint, same rule, same place."""
        for entry in self.entries:
            if (
                entry.fingerprint == finding.fingerprint
                and entry.rule == finding.rule_id
                and entry.path == place(finding)
            ):
                return entry
        return None

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "baseline") -> Baseline:
        doc = load_toml(raw, what, limit=MAX_BASELINE_BYTES)
        unknown = set(doc) - {"finding"}
        if unknown:
            raise InputError(f"{what}: unknown key {sorted(unknown)[0]!r}")
        items = doc.get("finding", [])
        if not isinstance(items, list):
            raise InputError(f"{what}: 'finding' must be an array of tables")
        entries = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            entry = _entry(item, f"{what}: finding[{i}]")
            if entry.fingerprint in seen:
                raise InputError(f"{what}: finding[{i}]: duplicate fingerprint")
            seen.add(entry.fingerprint)
            entries.append(entry)
        return cls(tuple(entries))

    def match(
        self, findings: Iterable[Finding], today: date
    ) -> tuple[list[Finding], list[BaselineEntry]]:
        """Apply the baseline: (findings with statuses set, entries now fixed).

        A matching, unexpired entry sets the finding's status and note; an
        expired one leaves it open and records ``acceptance_expired``.
        """
        out: list[Finding] = []
        used: set[str] = set()
        for finding in findings:
            entry = self.get(finding)
            if entry is None:
                out.append(finding)
                continue
            used.add(entry.fingerprint)
            if entry.expired(today):
                props = dict(finding.properties)
                props["acceptance_expired"] = entry.to_dict()
                out.append(_with_props(finding, props))
            else:
                out.append(finding.with_status(entry.status, entry.note()))
        fixed = [e for e in self.entries if e.fingerprint not in used]
        return out, fixed


def place(finding: Finding) -> str:
    """Where a baseline entry says a finding is: its file path, or for a finding
    about a running service (DAST) its HTTP method and URL."""
    loc = finding.location
    if loc.path is not None:
        return loc.path
    return f"{loc.method or 'GET'} {loc.url}"


def _with_props(finding: Finding, props: dict[str, Any]) -> Finding:
    return replace(finding, properties=props)


def _entry(item: object, what: str) -> BaselineEntry:
    if not isinstance(item, dict):
        raise InputError(f"{what}: must be a table")
    unknown = set(item) - _KEYS
    if unknown:
        raise InputError(f"{what}: unknown key {sorted(unknown)[0]!r}")
    for key in ("fingerprint", "rule", "path", "who", "why"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise InputError(f"{what}: {key!r} is required (a non-empty string)")
    if not _FP.fullmatch(item["fingerprint"]):
        raise InputError(f"{what}: fingerprint must be 64 lowercase hex characters")
    try:
        status = Status(item.get("status", Status.ACCEPTED_RISK.value))
    except ValueError as exc:
        raise InputError(f"{what}: unknown status {item.get('status')!r}") from exc
    if status not in _ACCEPTING:
        raise InputError(f"{what}: status must be accepted-risk, false-positive or acknowledged")
    until = fields.maybe(fields.day, item.get("until"), f"{what}: 'until'")
    return BaselineEntry(
        fingerprint=item["fingerprint"],
        rule=item["rule"],
        path=item["path"],
        status=status,
        who=item["who"],
        why=item["why"],
        until=until,
    )


def _toml_str(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else _toml_escape(c) for c in out) + '"'


def _toml_escape(c: str) -> str:
    # TOML's \u takes exactly 4 hex digits: a character beyond U+FFFF needs \U and 8
    return f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"


def render_baseline(
    findings: Sequence[Finding], *, who: str, why: str, until: date | None
) -> bytes:
    """A baseline TOML accepting *findings* (for ``--write-baseline``)."""
    lines = ["# nebsign baseline: accepted findings (see `nebsign scan sast --help`)."]
    for f in sorted(findings, key=Finding.sort_key):
        lines += [
            "",
            "[[finding]]",
            f"fingerprint = {_toml_str(f.fingerprint)}",
            f"rule = {_toml_str(f.rule_id)}",
            f"path = {_toml_str(place(f))}",
            'status = "accepted-risk"',
            f"who = {_toml_str(who)}",
            f"why = {_toml_str(why)}",
        ]
        if until is not None:
            lines.append(f"until = {until.isoformat()}")
    return ("\n".join(lines) + "\n").encode()
