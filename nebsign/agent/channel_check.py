"""The channel follower's judgement of one statement, and its memory (no network).

:func:`verified_statement` checks the signatures (channel or rollback trust
policy, each with its own threshold), then parses, then checks the channel
and the expiry; :func:`check_sequence` refuses a replayed or frozen
statement against the last one this host accepted, kept in
``<root>/channel.json`` (:func:`load_memory` / :func:`save_memory`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from nebsign._internal.atomic import atomic_write
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign._internal.readlimit import read_bounded
from nebsign.agent.session import utc_text
from nebsign.bundle import Bundle
from nebsign.channels.hostspec import ChannelSpec
from nebsign.channels.model import ChannelStatement
from nebsign.errors import InputError, VerdictError
from nebsign.policy.host import HostPolicy

__all__ = [
    "CHANNEL_MEMORY",
    "ChannelExpired",
    "ChannelReplay",
    "ChannelSignature",
    "RollbackNotAuthorized",
    "WrongChannel",
    "check_sequence",
    "load_memory",
    "save_memory",
    "verified_statement",
]

CHANNEL_MEMORY = "channel.json"
_MEMORY_TYPE = "https://nebsign.dev/agent-channel/v1"


class ChannelSignature(VerdictError):
    reason: ClassVar[str] = "channel-signature"


class RollbackNotAuthorized(VerdictError):
    reason: ClassVar[str] = "rollback-not-authorized"


class WrongChannel(VerdictError):
    reason: ClassVar[str] = "wrong-channel"


class ChannelExpired(VerdictError):
    reason: ClassVar[str] = "channel-expired"


class ChannelReplay(VerdictError):
    reason: ClassVar[str] = "channel-replay"


def load_memory(policy: HostPolicy) -> dict[str, Any]:
    path = policy.root / CHANNEL_MEMORY
    if not path.exists():
        return {}
    obj = parse_json_object(read_bounded(path, 1024 * 1024, "channel memory"), str(path))
    if obj.get("_type") != _MEMORY_TYPE:
        raise InputError(f"{path}: _type must be {_MEMORY_TYPE!r}")
    return obj


def save_memory(policy: HostPolicy, memory: dict[str, Any]) -> None:
    atomic_write(policy.root / CHANNEL_MEMORY, canonical_json({**memory, "_type": _MEMORY_TYPE}))


def verified_statement(
    spec: ChannelSpec, raw: bytes, sha: str, bundles: list[Bundle], when: datetime
) -> ChannelStatement:
    from nebsign.verify import verify_artifact

    if not bundles:
        raise ChannelSignature(f"channel {spec.name}: the statement is not signed")
    problems: list[str] = []
    by: set[str] = set()
    for role, trust in (("channel", spec.trust), ("rollback", spec.rollback_trust)):
        if trust is None:
            continue
        try:
            verify_artifact(sha, bundles, trust, now=when)
            by.add(role)
        except VerdictError as exc:
            problems.append(f"{role} signers: {exc.message}")
    if not by:
        raise ChannelSignature(
            f"channel {spec.name}: statement signatures rejected ({'; '.join(problems)})"
        )
    st = ChannelStatement.from_json(raw, f"channel {spec.name} statement")
    if st.rollback and "rollback" not in by:
        raise RollbackNotAuthorized(
            f"channel {spec.name} #{st.sequence}: a rollback to {st.version} must be signed by "
            "keys the rollback trust policy allows"
            + ("" if spec.rollback_trust is not None else " (this host allows none)")
        )
    if not st.rollback and "channel" not in by:
        raise ChannelSignature(
            f"channel {spec.name} #{st.sequence}: not signed as the channel trust policy requires"
        )
    if st.channel != spec.name:
        raise WrongChannel(f"statement is for channel {st.channel}, this host follows {spec.name}")
    if st.is_expired(when):
        raise ChannelExpired(
            f"channel {st.channel} statement #{st.sequence} expired at {utc_text(st.expires)}; "
            "keeping the running release"
        )
    return st


def check_sequence(st: ChannelStatement, sha: str, memory: dict[str, Any]) -> None:
    seen = memory.get("sequence")
    if not isinstance(seen, int) or memory.get("channel") != st.channel:
        return  # nothing accepted yet on this channel (a host moved channels starts afresh)
    if st.sequence < seen or (st.sequence == seen and memory.get("sha256") != sha):
        raise ChannelReplay(
            f"channel {st.channel} statement #{st.sequence} is not newer than #{seen}, "
            "the last one this host accepted: replayed or frozen statement refused"
        )
