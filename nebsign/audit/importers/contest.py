"""Contest findings: Code4rena / Sherlock style Markdown reports.

Each finding is a heading with the contest id (``## [[H-01] Title](issue-url)``,
``# Issue M-2: Title``); the id's prefix is the risk (H, M, L/QA, G for gas,
NC/N/I), mapped like any firm's label and kept as ``original_severity``.
The status comes from a ``**Status:** ...`` line, else "mitigation
confirmed", else the sponsor's confirmed / acknowledged / disputed mark.
The location is the first GitHub source link (``.../blob/<ref>/path#L1-L9``).
"""

from __future__ import annotations

import re

from nebsign._internal.safepath import check_relpath
from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.interface import Importer
from nebsign.audit.mapping import map_severity, map_status
from nebsign.audit.model import Audit, scrub_local_paths
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Source, Status, StatusNote, fingerprint

__all__ = ["MAX_CONTEST_BYTES", "ContestImporter"]

MAX_CONTEST_BYTES = 16 * 1024 * 1024
MAX_FINDINGS = 100_000
_HEADING = re.compile(
    r"^#{1,4}[ \t]+(?:Issue[ \t]+)?\[{0,2}(?P<id>(?:H|M|L|QA|G|NC|N|I)-\d{1,4})\]?:?[ \t]*"
    r"(?P<title>[^\n]*?)\]?(?:\((?P<url>https://[^)\s]+)\))?[ \t]*$",
    re.MULTILINE,
)
_H1 = re.compile(r"^#[ \t]+(?P<title>[^\n]+)$", re.MULTILINE)
_STATUS = re.compile(
    r"^\*{0,2}Status:?\*{0,2}:?[ \t]*(?P<label>[A-Za-z'\u2019 \t-]{1,60})", re.M | re.I
)
_SPONSOR = re.compile(r"\*\*\[[^\]\n]*?\b(?P<word>confirmed|acknowledged|disputed)\b[^\]\n]*\]")
_MITIGATED = re.compile(r"mitigation confirmed", re.IGNORECASE)
_LINK = re.compile(
    r"https://github\.com/[^/\s]+/[^/\s]+/blob/[^/\s]+/(?P<path>[^#\s)]+)"
    r"(?:#L(?P<l1>\d{1,7})(?:-L(?P<l2>\d{1,7}))?)?"
)
_RISK = {
    "H": "High",
    "M": "Medium",
    "L": "Low",
    "QA": "QA",
    "G": "Gas",
    "NC": "Non-Critical",
    "N": "Non-Critical",
    "I": "Informational",
}


class ContestImporter(Importer):
    name = "contest"

    def sniff(self, raw: bytes, filename: str) -> bool:
        if raw[:1] in (b"{", b"["):
            return False
        try:
            text = raw[:65536].decode("utf-8", errors="replace")
        except ValueError:  # pragma: no cover - errors="replace" never raises
            return False
        return _HEADING.search(text) is not None

    def parse(self, raw: bytes, what: str) -> Audit:
        if len(raw) > MAX_CONTEST_BYTES:
            raise InvalidAuditInput(f"{what}: larger than {MAX_CONTEST_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidAuditInput(f"{what}: not UTF-8 (byte {exc.start})") from exc
        text = text.replace("\r\n", "\n")
        heads = list(_HEADING.finditer(text))
        if not heads:
            raise InvalidAuditInput(f"{what}: no finding headings like '## [H-01] Title'")
        if len(heads) > MAX_FINDINGS:
            raise InvalidAuditInput(f"{what}: more than {MAX_FINDINGS} findings")
        auditor = (
            "Code4rena"
            if "code-423n4" in text
            else "Sherlock"
            if "sherlock-audit" in text
            else "contest"
        )
        title = next(
            (
                m.group("title").strip()
                for m in _H1.finditer(text, 0, heads[0].start())
                if not _HEADING.match(m.group(0))
            ),
            "",
        )
        findings: list[Finding] = []
        seen: set[str] = set()
        line, pos = 1, 0
        for n, head in enumerate(heads):
            end = heads[n + 1].start() if n + 1 < len(heads) else len(text)
            body = text[head.end() : end]
            line += text.count("\n", pos, head.start())
            pos = head.start()
            where = f"{what}: finding {head.group('id')} (line {line})"
            finding = _finding(head, body, auditor, where)
            if finding.rule_id in seen:
                raise InvalidAuditInput(f"{where}: id {finding.rule_id} used twice")
            seen.add(finding.rule_id)
            findings.append(finding)
        return Audit(
            kind="contest", auditor=auditor, findings=tuple(findings), report_title=title[:500]
        )


def _status(label: str, where: str) -> Status:
    """The longest leading run of words that is a known status ("Fixed in PR 4" -> Fixed)."""
    words = label.split()
    for n in range(len(words), 0, -1):
        try:
            return map_status(" ".join(words[:n]), where)
        except InvalidAuditInput:
            continue
    raise InvalidAuditInput(f"{where}: unknown status label {label[:60]!r}")


def _finding(head: re.Match[str], body: str, auditor: str, where: str) -> Finding:
    firm_id = head.group("id")
    prefix = firm_id.split("-")[0]
    risk = _RISK[prefix]
    severity = map_severity(risk, f"{where}.risk")
    title = head.group("title").strip().rstrip("]").strip() or firm_id
    if len(title) > 500:
        raise InvalidAuditInput(f"{where}.title: longer than 500 characters")
    explicit = _STATUS.search(body)
    sponsor = [m.group("word") for m in _SPONSOR.finditer(body)]
    if explicit:
        label = explicit.group("label").strip().strip("*").strip()
    elif _MITIGATED.search(body):
        label = "Mitigation confirmed"
    elif sponsor:
        label = f"sponsor {sponsor[-1]}"
    else:
        label = "open"
    status = _status(label, f"{where}.status")
    location = None
    for link in _LINK.finditer(body):
        try:
            path = check_relpath(link.group("path"), f"{where}.location")
        except InputError:
            continue
        first = int(link.group("l1")) if link.group("l1") else None
        last = int(link.group("l2")) if link.group("l2") else None
        if first is not None and first < 1:
            continue
        location = Location(
            path=path, line=first, end_line=last if last and first and last >= first else None
        )
        break
    if location is None:
        location = Location(url=head.group("url") or f"contest:{firm_id}")
    props = {
        "firm_id": firm_id,
        "original_severity": risk,
        "original_status": label,
    }
    if head.group("url"):
        props["issue_url"] = head.group("url")
    message = scrub_local_paths(body.strip())[:65536]
    return Finding(
        source=Source.AUDIT,
        tool=auditor,
        rule_id=firm_id,
        severity=severity,
        confidence=Confidence.HIGH,
        title=title,
        message=message,
        location=location,
        fingerprint=fingerprint(firm_id, location.path or "", auditor, 0),
        status=status,
        status_note=StatusNote(auditor, label) if status is not Status.OPEN else None,
        properties=props,
    )
