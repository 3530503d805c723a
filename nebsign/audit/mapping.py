"""Each firm's severity and status vocabulary onto nebsign's one scale.

The original label is always kept (``properties.original_severity`` /
``original_status``) and shown. An unknown label is an input error naming the
field, never a guess. "Acknowledged", "declined" and "won't fix" never map
to :attr:`Status.FIXED`; "partially resolved" and "mitigated" stay open
(the risk is reduced, not removed: the policy decides what that means).
"""

from __future__ import annotations

import re

from nebsign.audit._fields import InvalidAuditInput
from nebsign.findings import Confidence, Severity, Status

__all__ = ["SEVERITY_LABELS", "STATUS_LABELS", "map_confidence", "map_severity", "map_status"]

#: normalized label -> nebsign severity (firms: CertiK, Quantstamp, Trail of
#: Bits, OpenZeppelin, Consensys, Spearbit; contests: Code4rena, Sherlock)
SEVERITY_LABELS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "critical risk": Severity.CRITICAL,
    "major": Severity.HIGH,
    "high": Severity.HIGH,
    "high risk": Severity.HIGH,
    "3": Severity.HIGH,
    "h": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "medium risk": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "2": Severity.MEDIUM,
    "m": Severity.MEDIUM,
    # Quantstamp: impact not determined - treated as medium until it is
    "undetermined": Severity.MEDIUM,
    "minor": Severity.LOW,
    "low": Severity.LOW,
    "low risk": Severity.LOW,
    "1": Severity.LOW,
    "l": Severity.LOW,
    "qa": Severity.LOW,
    "quality assurance": Severity.LOW,
    "informational": Severity.INFO,
    "information": Severity.INFO,
    "info": Severity.INFO,
    "note": Severity.INFO,
    "notes": Severity.INFO,
    "non-critical": Severity.INFO,
    "nc": Severity.INFO,
    "n": Severity.INFO,
    "0": Severity.INFO,
    "gas": Severity.INFO,
    "g": Severity.INFO,
    "gas optimization": Severity.INFO,
    "optimization": Severity.INFO,
    "best practice": Severity.INFO,
    "best practices": Severity.INFO,
}

#: normalized label -> nebsign status
STATUS_LABELS: dict[str, Status] = {
    "resolved": Status.FIXED,
    "fixed": Status.FIXED,
    "remediated": Status.FIXED,
    "closed": Status.FIXED,
    "mitigation confirmed": Status.FIXED,
    "partially resolved": Status.OPEN,
    "partially fixed": Status.OPEN,
    "partially remediated": Status.OPEN,
    "mitigated": Status.OPEN,
    "unresolved": Status.OPEN,
    "open": Status.OPEN,
    "pending": Status.OPEN,
    "new": Status.OPEN,
    "reported": Status.OPEN,
    "confirmed": Status.OPEN,
    "sponsor confirmed": Status.OPEN,
    "disputed": Status.OPEN,
    "sponsor disputed": Status.OPEN,
    "acknowledged": Status.ACKNOWLEDGED,
    "sponsor acknowledged": Status.ACKNOWLEDGED,
    "declined": Status.ACCEPTED_RISK,
    "won't fix": Status.ACCEPTED_RISK,
    "wont fix": Status.ACCEPTED_RISK,
    "will not fix": Status.ACCEPTED_RISK,
    "risk accepted": Status.ACCEPTED_RISK,
    "accepted risk": Status.ACCEPTED_RISK,
    "false positive": Status.FALSE_POSITIVE,
    "invalid": Status.FALSE_POSITIVE,
}

_CONFIDENCE = {
    "high": Confidence.HIGH,
    "medium": Confidence.MEDIUM,
    "low": Confidence.LOW,
    "certain": Confidence.HIGH,
    "firm": Confidence.HIGH,
    "tentative": Confidence.LOW,
}
_SEPARATORS = re.compile(r"[\s_\-]+")


def _norm(label: str) -> str:
    """Lower case, apostrophes dropped, runs of space, '-' and '_' as one space."""
    text = label.strip().lower().replace("\u2019", "").replace("'", "")
    return _SEPARATORS.sub(" ", text).strip()


_SEVERITY = {_norm(k): v for k, v in SEVERITY_LABELS.items()}
_STATUS = {_norm(k): v for k, v in STATUS_LABELS.items()}


def map_severity(label: str, where: str) -> Severity:
    """nebsign's severity for a firm's label; :class:`InvalidAuditInput` if unknown."""
    found = _SEVERITY.get(_norm(label))
    if found is None:
        raise InvalidAuditInput(f"{where}: unknown severity label {label[:60]!r}")
    return found


def map_status(label: str, where: str) -> Status:
    """nebsign's status for a firm's label; :class:`InvalidAuditInput` if unknown."""
    found = _STATUS.get(_norm(label))
    if found is None:
        raise InvalidAuditInput(f"{where}: unknown status label {label[:60]!r}")
    return found


def map_confidence(label: str | None) -> Confidence:
    """Confidence (or likelihood) label; unknown or absent labels are medium."""
    if label is None:
        return Confidence.MEDIUM
    return _CONFIDENCE.get(_norm(label), Confidence.MEDIUM)
