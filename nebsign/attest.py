"""in-toto Statement v1 and nebsign's predicate types (no I/O).

A statement names artifacts by SHA-256 (``subject``), says what kind of
claim it makes (``predicateType``, a versioned URI) and carries the claim
(``predicate``). Statements are signed inside a DSSE envelope in a Sigstore
bundle (:func:`nebsign.signing.sign_statement`) and must be verified
(:func:`nebsign.verify.verify_attestation`) before they are parsed for use.

Example::

    stmt = Statement(
        subjects=(Subject("dist/app.tar.gz", "ab12..."),),
        predicate_type=SAST_V1,
        predicate={"verdict": "pass", "policy": "sha256:...", "findings": []},
    )
    raw = stmt.to_json()                 # canonical JSON, byte-stable
    assert Statement.from_json(raw) == stmt
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign.bundle import IN_TOTO_PAYLOAD_TYPE, pae
from nebsign.errors import InputError

__all__ = [
    "AUDIT_V1",
    "DAST_V1",
    "GATE_V1",
    "IN_TOTO_PAYLOAD_TYPE",
    "MANIFEST_V1",
    "MAX_STATEMENT_BYTES",
    "NEBSIGN_PREDICATE_TYPES",
    "REPORT_V1",
    "SAST_V1",
    "SLSA_PROVENANCE_V1",
    "STATEMENT_TYPE",
    "InvalidStatement",
    "Statement",
    "Subject",
    "pae",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
SAST_V1 = "https://nebsign.dev/attestation/sast/v1"
DAST_V1 = "https://nebsign.dev/attestation/dast/v1"
AUDIT_V1 = "https://nebsign.dev/attestation/audit/v1"
GATE_V1 = "https://nebsign.dev/attestation/gate/v1"
MANIFEST_V1 = "https://nebsign.dev/attestation/manifest/v1"
REPORT_V1 = "https://nebsign.dev/attestation/report/v1"
#: short names used on the command line (``nebsign attest --type sast``)
NEBSIGN_PREDICATE_TYPES: dict[str, str] = {
    "slsa-provenance": SLSA_PROVENANCE_V1,
    "sast": SAST_V1,
    "dast": DAST_V1,
    "audit": AUDIT_V1,
    "gate": GATE_V1,
    "manifest": MANIFEST_V1,
    "report": REPORT_V1,
}
MAX_STATEMENT_BYTES = 3 * 1024 * 1024  # base64 in a bundle of MAX_BUNDLE_BYTES
MAX_SUBJECTS = 1_000_000
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_URI_RE = re.compile(r"https://[\x21-\x7e]{1,2000}")


class InvalidStatement(InputError):
    """The bytes are not a well-formed in-toto Statement v1."""

    reason = "invalid-statement"


class Subject(NamedTuple):
    """One artifact a statement is about: its name and lowercase hex SHA-256."""

    name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Statement:
    """An in-toto Statement v1 with SHA-256 subjects."""

    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: dict[str, Any]

    def __post_init__(self) -> None:
        subjects = tuple(Subject(*s) for s in self.subjects)
        object.__setattr__(self, "subjects", subjects)
        if not subjects:
            raise InvalidStatement("statement: at least one subject is required")
        for name, sha in subjects:
            if not isinstance(name, str) or not isinstance(sha, str):
                raise InvalidStatement("statement: subject name and sha256 must be strings")
            if not _HEX_RE.fullmatch(sha):
                raise InvalidStatement(f"statement: subject {name[:80]!r} has no valid sha256")
        if not isinstance(self.predicate_type, str) or not _URI_RE.fullmatch(self.predicate_type):
            raise InvalidStatement("statement: predicateType must be an https:// URI")
        if not isinstance(self.predicate, dict):
            raise InvalidStatement("statement: predicate must be a JSON object")

    def digests(self) -> frozenset[str]:
        """The set of subject SHA-256 hex digests."""
        return frozenset(s.sha256 for s in self.subjects)

    def covers(self, sha256_hex: str) -> bool:
        """True if *sha256_hex* is one of the subjects."""
        return any(s.sha256 == sha256_hex for s in self.subjects)

    def to_dict(self) -> dict[str, Any]:
        """The statement as a JSON-ready dict."""
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        }

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785) bytes: the DSSE payload."""
        try:
            return canonical_json(self.to_dict())
        except (TypeError, ValueError) as exc:
            raise InvalidStatement(f"statement: predicate is not JSON-serializable: {exc}") from exc

    @classmethod
    def from_json(cls, raw: bytes, what: str = "statement") -> Statement:
        """Parse statement bytes; :class:`InvalidStatement` if malformed."""
        try:
            # re-emitted as RFC 8785 (to_json): what cannot be written back is refused here
            obj = parse_json_object(raw, what, limit=MAX_STATEMENT_BYTES, canonical_ints=True)
        except InputError as exc:
            raise InvalidStatement(exc.message) from exc
        return cls.from_dict(obj, what)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], what: str = "statement") -> Statement:
        """Build from a parsed JSON object; :class:`InvalidStatement` if malformed."""
        if obj.get("_type") != STATEMENT_TYPE:
            raise InvalidStatement(f"{what}: _type must be {STATEMENT_TYPE}")
        unknown = set(obj) - {"_type", "subject", "predicateType", "predicate"}
        if unknown:
            raise InvalidStatement(f"{what}: unknown field(s) {sorted(unknown)[:5]}")
        raw_subjects = obj.get("subject")
        if not isinstance(raw_subjects, list) or len(raw_subjects) > MAX_SUBJECTS:
            raise InvalidStatement(f"{what}: subject must be a list of at most {MAX_SUBJECTS}")
        subjects: list[Subject] = []
        for item in raw_subjects:
            if not isinstance(item, dict) or not isinstance(item.get("digest"), dict):
                raise InvalidStatement(f"{what}: each subject needs a name and a digest object")
            name, sha = item.get("name", ""), item["digest"].get("sha256")
            if not isinstance(name, str) or not isinstance(sha, str):
                raise InvalidStatement(f"{what}: each subject needs a name and a sha256 digest")
            subjects.append(Subject(name, sha))
        predicate = obj.get("predicate", {})
        predicate_type = obj.get("predicateType")
        if not isinstance(predicate_type, str):
            raise InvalidStatement(f"{what}: predicateType must be a string")
        if not isinstance(predicate, dict):
            raise InvalidStatement(f"{what}: predicate must be a JSON object")
        return cls(tuple(subjects), predicate_type, predicate)
