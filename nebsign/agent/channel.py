"""``agent run --url STORE`` with a ``[channel]`` host policy: follow a signed channel.

Each poll is one conditional GET of ``STORE/channels/<name>.json`` (an
unchanged statement is a 304 and nothing else). A changed statement is
judged before anything else happens:

1. its signatures (``channels/sigs/<sha256>[.<n>].sigstore.json``) must meet
   the channel trust policy, or, for a statement marked ``rollback``, the
   rollback trust policy (each with its own threshold);
2. it must name this host's channel, be unexpired, and have a sequence
   higher than the last one this host accepted (equal: the same bytes);
3. the host judges the promotion evidence itself: the gate attestations it
   names (``evidence/<sha256>.sigstore.json``) are verified with the host's
   trust policy and the promotion rules of the host's *own* phase are applied
   at the statement's signed ``issued_at``;
4. then the named release is installed through the normal install path,
   which must find exactly the manifest digest the statement names. A lower
   version is accepted only through a verified rollback statement; a host
   that still has that release switches locally (re-checked) instead.

A refusal keeps the running release, is logged (``channel-refused`` with the
reason and sequence), reported to the caller and kept in ``channel.json``;
every switch is logged (``channel-applied``) with the sequence number.
Store outages are reported and retried at the next poll.
"""

from __future__ import annotations

import enum
import inspect
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nebsign._internal.condget import CondStatus, Validators, conditional_get
from nebsign._internal.fetch import join_location, redact
from nebsign.agent.channel_check import (
    CHANNEL_MEMORY,
    ChannelExpired,
    check_sequence,
    load_memory,
    save_memory,
    verified_statement,
)
from nebsign.agent.install import Downgrade, install_in_session
from nebsign.agent.rollback import rollback_in_session
from nebsign.agent.session import Session, open_session, utc_text
from nebsign.agent.stage import fetch_limits, reason_of
from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
from nebsign.channels.hostspec import ChannelSpec
from nebsign.channels.model import (
    MAX_CHANNEL_BYTES,
    ChannelStatement,
    channel_path,
    evidence_path,
    signature_paths,
)
from nebsign.channels.rules import GateEvidence, check_promotion
from nebsign.digest import sha256_bytes
from nebsign.errors import EnvironmentFault, InputError, NebsignError, VerdictError
from nebsign.policy.host import HostPolicy
from nebsign.versioning import ReleaseVersion

__all__ = [
    "CHANNEL_MEMORY",
    "Action",
    "ChannelFollower",
    "ChannelOutcome",
    "load_memory",
    "run_channel",
]

#: ``open_session(create=True)`` where the agent's session has that switch (a channel
#: follower installs, so it may create the root); older sessions create it anyway
_CREATE: dict[str, Any] = (
    {"create": True} if "create" in inspect.signature(open_session).parameters else {}
)


class Action(enum.Enum):
    UNCHANGED = "unchanged"  # 304, or the statement already accepted
    CURRENT = "current"  # a new statement naming the running release
    INSTALLED = "installed"
    SWITCHED = "switched"  # to an installed release, locally
    REFUSED = "refused"
    ERROR = "error"  # store unreachable, disk, lock: retried at the next poll


@dataclass(frozen=True, slots=True)
class ChannelOutcome:
    action: Action
    detail: str
    sequence: int | None = None
    version: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "detail": self.detail,
            "reason": self.reason,
            "sequence": self.sequence,
            "version": self.version,
        }


def _spec(policy: HostPolicy) -> ChannelSpec:
    spec = policy.channel
    if not isinstance(spec, ChannelSpec):
        raise InputError("host policy has no [channel] table; add one to follow a channel")
    return spec


@dataclass
class ChannelFollower:
    """One host's view of its channel across polls (validators, the held statement)."""

    policy: HostPolicy
    store: str
    validators: Validators | None = None
    held: ChannelStatement | None = None
    held_sha256: str | None = None
    retry: bool = False
    expired_reported: bool = False
    #: the refusal of the statement the store serves now, repeated while it is served
    refusal: ChannelOutcome | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def poll(self, now: datetime | None = None) -> ChannelOutcome:
        """One poll: fetch (conditionally), judge, apply. Never raises NebsignError."""
        when = now or datetime.now(UTC)
        spec = _spec(self.policy)
        limits = fetch_limits(self.policy)
        self._count("polls")
        try:
            got = conditional_get(
                join_location(self.store, channel_path(spec.name)),
                limit=MAX_CHANNEL_BYTES,
                limits=limits,
                validators=None if self.retry else self.validators,
            )
        except EnvironmentFault as exc:
            self._count("errors")
            return ChannelOutcome(Action.ERROR, f"store unreachable: {exc.diagnostics()}")
        except NebsignError as exc:
            self._count("refused")
            return ChannelOutcome(Action.REFUSED, exc.message, reason=reason_of(exc))
        if got.status is CondStatus.NOT_MODIFIED:
            self._count("not_modified")
            if self.refusal is not None:
                self._count("refused")
                return self.refusal
            return self._unchanged(when)
        if got.status is CondStatus.MISSING:
            self._count("errors")
            return ChannelOutcome(
                Action.ERROR, f"the store has no statement for channel {spec.name}"
            )
        self._count("fetched")
        assert got.body is not None
        sha = sha256_bytes(got.body)
        if sha == self.held_sha256 and not self.retry:
            self.validators = got.validators
            self.refusal = None
            return self._unchanged(when)
        try:
            bundles = self._signatures(sha)
            with open_session(self.policy.root, **_CREATE) as session:
                outcome = self._apply(session, spec, got.body, sha, bundles, when)
        except EnvironmentFault as exc:
            self.retry = True
            self._count("errors")
            return ChannelOutcome(Action.ERROR, exc.diagnostics(), reason=reason_of(exc))
        except NebsignError as exc:
            self.retry = False
            self.validators = got.validators
            self._count("refused")
            self.refusal = ChannelOutcome(Action.REFUSED, exc.message, reason=reason_of(exc))
            return self.refusal
        self.retry = False
        self.validators = got.validators
        self.refusal = None
        return outcome

    def _unchanged(self, when: datetime) -> ChannelOutcome:
        held = self.held
        if held is not None and held.is_expired(when):
            # A store that keeps serving an expired statement is frozen (or replaying).
            self._count("refused")
            if not self.expired_reported:
                self.expired_reported = True
                self._log_refusal(held, ChannelExpired(self._expired_text(held)))
            return ChannelOutcome(
                Action.REFUSED,
                self._expired_text(held),
                held.sequence,
                held.version,
                ChannelExpired.reason,
            )
        return ChannelOutcome(
            Action.UNCHANGED,
            "unchanged",
            held.sequence if held else None,
            held.version if held else None,
        )

    @staticmethod
    def _expired_text(st: ChannelStatement) -> str:
        return (
            f"channel {st.channel} statement #{st.sequence} expired at "
            f"{utc_text(st.expires)}; keeping the running release (a frozen store?)"
        )

    def _log_refusal(self, st: ChannelStatement | None, exc: NebsignError) -> None:
        try:
            with open_session(self.policy.root, **_CREATE) as session:
                _refused(session, self.policy, st, exc)
        except NebsignError:
            return  # the caller reports the refusal; the log is best effort here

    def _get(self, rel: str, limit: int) -> bytes | None:
        got = conditional_get(
            join_location(self.store, rel), limit=limit, limits=fetch_limits(self.policy)
        )
        return got.body if got.status is CondStatus.OK else None

    def _signatures(self, sha: str) -> list[Bundle]:
        bundles = []
        for rel in signature_paths(sha):
            raw = self._get(rel, MAX_BUNDLE_BYTES)
            if raw is None:
                break
            try:
                bundles.append(Bundle.from_json(raw, redact(join_location(self.store, rel))))
            except InputError:
                continue  # a malformed extra bundle counts for nothing (as for releases)
        return bundles

    def _evidence(self, st: ChannelStatement, when: datetime) -> tuple[list[GateEvidence], int]:
        from nebsign.verify import verify_attestation

        out, bad = [], 0
        for ev in st.evidence:
            raw = self._get(evidence_path(ev.sha256), MAX_BUNDLE_BYTES)
            if raw is None or sha256_bytes(raw) != ev.sha256:
                bad += 1
                continue
            try:
                statement = verify_attestation(Bundle.from_json(raw), self.policy.trust, now=when)
            except (VerdictError, InputError):
                bad += 1
                continue
            out.append(GateEvidence(ev.sha256, statement))
        return out, bad

    def _apply(
        self,
        session: Session,
        spec: ChannelSpec,
        raw: bytes,
        sha: str,
        bundles: list[Bundle],
        when: datetime,
    ) -> ChannelOutcome:
        st: ChannelStatement | None = None
        try:
            st = verified_statement(spec, raw, sha, bundles, when)
            memory = load_memory(self.policy)
            check_sequence(st, sha, memory)
            gates, bad = self._evidence(st, when)
            try:
                check_promotion(
                    spec.phase,
                    gates,
                    st.manifest_sha256,
                    at=st.issued_at,
                    rules=spec.rules,
                    rollback=st.rollback,
                )
            except VerdictError as exc:
                more = f" ({bad} evidence bundle(s) missing or not verified)" if bad else ""
                raise type(exc)(f"{spec.phase.value} host: {exc.message}{more}") from exc
            action = _switch(session, self.policy, self.store, st, when)
        except NebsignError as exc:
            if not isinstance(exc, EnvironmentFault):
                _refused(session, self.policy, st, exc)
            raise
        self.held, self.held_sha256, self.expired_reported = st, sha, False
        detail = f"channel {st.channel} #{st.sequence}: {action.value} {st.version}"
        if action is Action.CURRENT and memory.get("sha256") == sha:
            return ChannelOutcome(Action.UNCHANGED, detail, st.sequence, st.version)
        session.record(
            "channel-applied",
            {
                "action": action.value,
                "channel": st.channel,
                "manifest": st.manifest,
                "rollback": st.rollback,
                "sequence": st.sequence,
                "version": st.version,
            },
        )
        save_memory(
            self.policy,
            {
                "channel": st.channel,
                "expires": utc_text(st.expires),
                "refused": None,
                "sequence": st.sequence,
                "sha256": sha,
                "version": st.version,
            },
        )
        return ChannelOutcome(action, detail, st.sequence, st.version)


def _switch(
    session: Session, policy: HostPolicy, store: str, st: ChannelStatement, when: datetime
) -> Action:
    state = session.state
    rec = state.record(st.version)
    same = rec is not None and rec.manifest_sha256 == st.manifest_sha256
    if same and state.current == st.version:
        return Action.CURRENT
    older = state.highest is not None and ReleaseVersion.parse(st.version) < ReleaseVersion.parse(
        state.highest
    )
    if older and not st.rollback:
        raise Downgrade(
            f"channel {st.channel} #{st.sequence} names {st.version}, older than {state.highest}, "
            "and is not a rollback statement: downgrade refused"
        )
    if same:
        rollback_in_session(session, st.version, hooks=policy.hooks)
        return Action.SWITCHED
    install_in_session(
        session,
        policy,
        join_location(store, st.path),
        now=when,
        expect_sha256=st.manifest_sha256,
        authorized_downgrade=st.rollback,
    )
    return Action.INSTALLED


def _refused(
    session: Session, policy: HostPolicy, st: ChannelStatement | None, exc: NebsignError
) -> None:
    details: dict[str, Any] = {"reason": reason_of(exc), "message": exc.message}
    if st is not None:
        details.update(channel=st.channel, sequence=st.sequence, version=st.version)
    session.record("channel-refused", details)
    try:
        memory = load_memory(policy)
    except InputError:
        memory = {}
    save_memory(policy, {**memory, "refused": {**details, "time": utc_text(datetime.now(UTC))}})


Report = Callable[[ChannelOutcome], None]


def run_channel(
    policy: HostPolicy,
    store: str,
    *,
    interval: float,
    jitter: float,
    stop: threading.Event,
    report: Report,
    once: bool = False,
    rng: random.Random | None = None,
) -> ChannelFollower:
    """Poll the channel every *interval* + uniform(0, *jitter*) seconds until *stop*."""
    follower = ChannelFollower(policy, store)
    draw = rng or random.SystemRandom()
    if not once and jitter > 0:
        stop.wait(draw.uniform(0, jitter))  # a fleet restarted together does not poll together
    while not stop.is_set():
        report(follower.poll())
        if once:
            break
        stop.wait(interval + (draw.uniform(0, jitter) if jitter > 0 else 0.0))
    return follower
