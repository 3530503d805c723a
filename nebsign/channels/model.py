"""The signed channel statement: which release a channel runs (pure, no I/O).

A publisher writes one per channel to the static store as
``channels/<name>.json`` (canonical JSON, like ``release.json``) and signs
its SHA-256 like a release manifest (``channels/<name>.json.sigstore.json``,
more signers as ``channels/<name>.json.<n>.sigstore.json``)::

    {"_type": "https://nebsign.dev/channel/v1",
     "channel": "global", "phase": "global",
     "release": "exchange-api", "version": "1.4.3",
     "manifest": "sha256:<hex of release.json>",
     "path": "releases/exchange-api/1.4.3",
     "sequence": 7, "issued_at": "2026-11-30T12:00:00Z", "expires": "2026-12-07T12:00:00Z",
     "rollback": false,
     "evidence": [{"gate": "canary", "sha256": "<hex of the gate bundle>"}]}

``sequence`` only grows per channel: a host refuses a lower one (a replay or
a freeze by the store) and an expired one, and keeps what runs. ``rollback``
marks the one kind of statement through which a host accepts a lower version.
``evidence`` names the gate attestation bundles (by the SHA-256 of their
bytes; published as ``evidence/<hex>.sigstore.json``) that the promotion
rules were judged from, so hosts can judge them again.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nebsign._internal import fields
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign._internal.safepath import check_relpath
from nebsign.errors import InputError
from nebsign.versioning import ReleaseVersion

__all__ = [
    "CHANNEL_TYPE",
    "MAX_CHANNEL_BYTES",
    "MAX_EVIDENCE",
    "ChannelStatement",
    "Evidence",
    "InvalidChannelStatement",
    "Phase",
    "channel_path",
    "check_channel_name",
    "evidence_path",
    "history_dir",
    "parse_time",
    "phase_of",
    "rfc3339",
    "signature_paths",
]

CHANNEL_TYPE = "https://nebsign.dev/channel/v1"
MAX_CHANNEL_BYTES = 64 * 1024
MAX_EVIDENCE = 64
MAX_SEQUENCE = 2**53 - 1  # exact in every JSON reader
MAX_SIGNERS = 8
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_HEX = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_FIELDS = frozenset(
    {
        "_type",
        "channel",
        "phase",
        "release",
        "version",
        "manifest",
        "path",
        "sequence",
        "issued_at",
        "expires",
        "rollback",
        "evidence",
    }
)


class InvalidChannelStatement(InputError):
    """Channel statement bytes that are not a well-formed, canonical channel statement."""

    reason = "malformed-channel"


class Phase(enum.Enum):
    """The rollout phase a channel belongs to; it decides which gates must have passed."""

    STAGING = "staging"
    CANARY = "canary"
    REGIONAL = "regional"
    GLOBAL = "global"


def check_channel_name(name: str, what: str = "channel") -> str:
    """A channel name: lowercase letters, digits, ``.``, ``_``, ``-``; at most 63 characters."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidChannelStatement(
            f"{what}: channel name {str(name)[:80]!r} must be 1-63 of a-z 0-9 . _ - "
            "(starting with a letter or digit)"
        )
    return name


def channel_path(name: str) -> str:
    """Where a channel's current statement lives in the store."""
    return f"channels/{check_channel_name(name)}.json"


def signature_paths(doc_sha256: str, count: int = MAX_SIGNERS) -> list[str]:
    """Where the signatures over a statement with this SHA-256 live, in order."""
    first = f"channels/sigs/{doc_sha256}.sigstore.json"
    return [first] + [f"channels/sigs/{doc_sha256}.{n}.sigstore.json" for n in range(2, count + 1)]


def evidence_path(sha256: str) -> str:
    """Where a gate attestation bundle with this SHA-256 lives in the store."""
    return f"evidence/{sha256}.sigstore.json"


def history_dir(name: str) -> str:
    """Every statement published for a channel, by sequence."""
    return f"channels/history/{check_channel_name(name)}"


def phase_of(channel: str) -> Phase:
    """The phase a channel name implies: its first ``-`` part (``regional-eu`` is regional)."""
    head = channel.split("-", 1)[0]
    for phase in Phase:
        if phase.value == head:
            return phase
    raise InputError(
        f"channel {channel!r}: cannot tell its phase from the name; "
        "name it canary*, regional*, global* or staging*, or give the phase explicitly"
    )


def parse_time(text: object, what: str) -> datetime:
    """An RFC 3339 UTC time as written by :func:`rfc3339` (seconds, ``Z``)."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise InvalidChannelStatement(f"{what}: must be a UTC time like 2026-01-31T00:00:00Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidChannelStatement(f"{what}: {text!r} is not a valid time") from exc


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One gate attestation bundle the promotion was judged from."""

    gate: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"gate": self.gate, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class ChannelStatement:
    """Which release a channel runs, from when, until when, at which sequence."""

    channel: str
    phase: Phase
    release: str
    version: str
    manifest_sha256: str
    path: str
    sequence: int
    issued_at: datetime
    expires: datetime
    rollback: bool = False
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        what = "channel statement"
        check_channel_name(self.channel, what)
        if not isinstance(self.release, str) or not 0 < len(self.release) <= 200:
            raise InvalidChannelStatement(f"{what}: release must be a name of 1-200 characters")
        if not self.release.isprintable():
            raise InvalidChannelStatement(f"{what}: release name has control characters")
        try:
            ReleaseVersion.parse(self.version)
        except (InputError, TypeError, AttributeError) as exc:
            raise InvalidChannelStatement(f"{what}: version is not a release version") from exc
        if not isinstance(self.manifest_sha256, str) or not _HEX.fullmatch(self.manifest_sha256):
            raise InvalidChannelStatement(f"{what}: manifest must be sha256:<64 lowercase hex>")
        try:
            check_relpath(self.path, f"{what}: path")
        except InputError as exc:
            raise InvalidChannelStatement(exc.message) from exc
        if len(self.path) > 1000:
            raise InvalidChannelStatement(f"{what}: path longer than 1000 characters")
        fields.integer(
            self.sequence,
            f"{what}: sequence",
            low=1,
            high=MAX_SEQUENCE,
            error=InvalidChannelStatement,
            expected="must be an integer 1..2^53-1",
        )
        if self.expires <= self.issued_at:
            raise InvalidChannelStatement(f"{what}: expires must be after issued_at")
        fields.boolean(self.rollback, f"{what}: rollback", error=InvalidChannelStatement)
        if len(self.evidence) > MAX_EVIDENCE:
            raise InvalidChannelStatement(f"{what}: more than {MAX_EVIDENCE} evidence entries")
        digests = [e.sha256 for e in self.evidence]
        if len(set(digests)) != len(digests):
            raise InvalidChannelStatement(f"{what}: evidence names a bundle twice")

    @property
    def manifest(self) -> str:
        return f"sha256:{self.manifest_sha256}"

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": CHANNEL_TYPE,
            "channel": self.channel,
            "evidence": [e.to_dict() for e in sorted(self.evidence, key=lambda e: e.sha256)],
            "expires": rfc3339(self.expires),
            "issued_at": rfc3339(self.issued_at),
            "manifest": self.manifest,
            "path": self.path,
            "phase": self.phase.value,
            "release": self.release,
            "rollback": self.rollback,
            "sequence": self.sequence,
            "version": self.version,
        }

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785): the bytes whose SHA-256 is signed."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes, what: str = "channel statement") -> ChannelStatement:
        """Parse canonical channel statement bytes (anything else is refused)."""
        obj = parse_json_object(raw, what, limit=MAX_CHANNEL_BYTES, error=InvalidChannelStatement)
        statement = cls.from_dict(obj, what)
        if statement.to_json() != raw:
            raise InvalidChannelStatement(
                f"{what}: not in canonical form (RFC 8785 JSON as nebsign writes it)"
            )
        return statement

    @classmethod
    def from_dict(cls, obj: dict[str, Any], what: str = "channel statement") -> ChannelStatement:
        fields.unknown_keys(obj, _FIELDS, what, error=InvalidChannelStatement, noun="field")
        if obj.get("_type") != CHANNEL_TYPE:
            raise InvalidChannelStatement(f"{what}: _type must be {CHANNEL_TYPE!r}")
        missing = sorted(_FIELDS - set(obj))
        if missing:
            raise InvalidChannelStatement(f"{what}: missing field {missing[0]!r}")
        for key in ("channel", "phase", "release", "version", "manifest", "path"):
            fields.string(obj[key], f"{what}: {key}", error=InvalidChannelStatement)
        try:
            phase = Phase(obj["phase"])
        except ValueError as exc:
            raise InvalidChannelStatement(f"{what}: unknown phase {obj['phase'][:40]!r}") from exc
        manifest = obj["manifest"]
        if not manifest.startswith("sha256:"):
            raise InvalidChannelStatement(f"{what}: manifest must be sha256:<64 lowercase hex>")
        evidence_raw = fields.tables(
            obj["evidence"],
            f"{what}: evidence",
            limit=MAX_EVIDENCE,
            error=InvalidChannelStatement,
            expected=f"must be a list of at most {MAX_EVIDENCE} objects {{gate, sha256}}",
        )
        evidence = []
        for item in evidence_raw:
            if set(item) != {"gate", "sha256"}:
                raise InvalidChannelStatement(f"{what}: each evidence entry is {{gate, sha256}}")
            gate, sha = item["gate"], item["sha256"]
            if not isinstance(gate, str) or not _NAME.fullmatch(gate):
                raise InvalidChannelStatement(f"{what}: evidence gate must be a short name")
            if not isinstance(sha, str) or not _HEX.fullmatch(sha):
                raise InvalidChannelStatement(f"{what}: evidence sha256 must be 64 lowercase hex")
            evidence.append(Evidence(gate, sha))
        return cls(
            channel=obj["channel"],
            phase=phase,
            release=obj["release"],
            version=obj["version"],
            manifest_sha256=manifest.removeprefix("sha256:"),
            path=obj["path"],
            sequence=obj["sequence"],
            issued_at=parse_time(obj["issued_at"], f"{what}: issued_at"),
            expires=parse_time(obj["expires"], f"{what}: expires"),
            rollback=obj["rollback"],
            evidence=tuple(evidence),
        )
