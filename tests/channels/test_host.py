"""The host enforces its phase from signed evidence; rollbacks only through rollback statements."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from channelkit import NOW, Store, gate_bundle, host

from nebsign.agent.channel import Action, ChannelFollower, load_memory
from nebsign.agent.install import install_release
from nebsign.agent.state import load_state
from nebsign.errors import VerdictError


def follower(store: Store, tmp_path: Path, **kw: object) -> tuple[ChannelFollower, object]:
    kit = host(store, tmp_path / "host", **kw)  # type: ignore[arg-type]
    return ChannelFollower(kit.policy(), str(store.root)), kit


def events(kit: object, name: str) -> list[dict[str, object]]:
    return [e for e in kit.log_events() if e["event"] == name]  # type: ignore[attr-defined]


def test_global_host_installs_a_gated_release(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    f, kit = follower(store, tmp_path)
    out = f.poll()
    assert out.action is Action.INSTALLED, out
    assert kit.current_payload() == b"app 1.0.0\n"  # type: ignore[attr-defined]
    applied = events(kit, "channel-applied")
    assert applied[-1]["sequence"] == 1 and applied[-1]["version"] == "1.0.0"
    assert f.poll().action is Action.UNCHANGED  # the same statement again: nothing happens


def _refused(f: ChannelFollower, kit: object, reason: str) -> str:
    out = f.poll()
    assert out.action is Action.REFUSED, out
    assert out.reason == reason, out
    assert not (kit.root / "current").exists()  # type: ignore[attr-defined]
    logged = events(kit, "channel-refused")
    assert logged and logged[-1]["reason"] == reason
    assert load_memory(f.policy)["refused"]["reason"] == reason
    return out.detail


@pytest.mark.parametrize(
    "case",
    ["missing", "failing", "3h59m", "other-manifest", "regional-missing", "untrusted-gate-key"],
)
def test_global_host_refuses_an_ungated_release_even_when_validly_signed(
    store: Store, tmp_path: Path, case: str
) -> None:
    store.release("1.0.0")
    store.release("0.9.0")
    sha = store.manifests["1.0.0"]
    canary_at, regional_at = NOW - timedelta(hours=20), NOW - timedelta(hours=1)
    key = store.gate_key
    canary = {"verdict": "pass", "hours": "4.000", "sha": sha}
    regional = [("regional", gate_bundle(key, sha, "regional", hours="12.000", at=regional_at))]
    if case == "failing":
        canary["verdict"] = "fail"
    elif case == "3h59m":
        canary["hours"] = "3.983"
    elif case == "other-manifest":
        canary["sha"] = store.manifests["0.9.0"]
    elif case == "regional-missing":
        regional = []
    elif case == "untrusted-gate-key":
        from nebsign.keys import generate_key

        key = generate_key()
    evidence = (
        []
        if case == "missing"
        else [
            (
                "canary",
                gate_bundle(
                    key,
                    canary["sha"],
                    "canary",
                    verdict=canary["verdict"],
                    hours=canary["hours"],
                    at=canary_at,
                ),
            )
        ]
    )
    store.publish("1.0.0", 1, evidence=evidence + regional)
    f, kit = follower(store, tmp_path)
    detail = _refused(f, kit, "ungated")
    assert "global host" in detail


def test_canary_host_needs_no_gate(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, channel="canary")
    f, _ = follower(store, tmp_path, channel="canary")
    assert f.poll().action is Action.INSTALLED


def test_statement_for_another_channel_or_key_is_refused(store: Store, tmp_path: Path) -> None:
    from nebsign.keys import generate_key

    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"), key=generate_key())
    f, kit = follower(store, tmp_path)
    _refused(f, kit, "channel-signature")


def test_a_store_serving_another_manifest_than_the_statement_names(
    store: Store, tmp_path: Path
) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    store.release("1.0.0", files={"bin/app": b"swapped, also signed\n"})  # same path, other bytes
    f, kit = follower(store, tmp_path)
    out = f.poll()
    assert out.action is Action.REFUSED and out.reason == "wrong-manifest", out
    assert not (kit.root / "current").exists()  # type: ignore[attr-defined]


def _at_110(store: Store, tmp_path: Path) -> tuple[ChannelFollower, object]:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    f, kit = follower(store, tmp_path)
    assert f.poll().action is Action.INSTALLED
    store.publish("1.1.0", 2, evidence=store.evidence("1.1.0"))
    assert f.poll().action is Action.INSTALLED
    return f, kit


def test_older_release_offered_directly_is_refused(store: Store, tmp_path: Path) -> None:
    f, kit = _at_110(store, tmp_path)
    store.release("0.9.0")
    with pytest.raises(VerdictError, match="downgrade"):
        install_release(f.policy, str(store.root / "releases/app/0.9.0"))
    store.publish("1.0.0", 3, evidence=store.evidence("1.0.0"))  # not marked rollback
    out = f.poll()
    assert out.action is Action.REFUSED and out.reason == "downgrade", out
    assert kit.current_payload() == b"app 1.1.0\n"  # type: ignore[attr-defined]


def test_rollback_statement_switches_locally_with_its_sequence(
    store: Store, tmp_path: Path
) -> None:
    f, kit = _at_110(store, tmp_path)
    store.publish(
        "1.0.0", 3, rollback=True, evidence=store.evidence("1.0.0"), key=store.rollback_key
    )
    out = f.poll()
    assert out.action is Action.SWITCHED, out
    assert kit.current_payload() == b"app 1.0.0\n"  # type: ignore[attr-defined]
    assert events(kit, "rolled-back")[-1]["to"] == "1.0.0"
    applied = events(kit, "channel-applied")[-1]
    assert (applied["sequence"], applied["rollback"], applied["action"]) == (3, True, "switched")
    assert load_state(kit.root / "state.json").highest == "1.1.0"  # type: ignore[attr-defined]


def test_rollback_statement_fetches_a_release_the_host_never_had(
    store: Store, tmp_path: Path
) -> None:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    store.publish("1.1.0", 1, evidence=store.evidence("1.1.0"))
    f, kit = follower(store, tmp_path)
    assert f.poll().action is Action.INSTALLED
    store.publish(
        "1.0.0", 2, rollback=True, evidence=store.evidence("1.0.0"), key=store.rollback_key
    )
    out = f.poll()
    assert out.action is Action.INSTALLED, out
    assert kit.current_payload() == b"app 1.0.0\n"  # type: ignore[attr-defined]
    assert events(kit, "channel-applied")[-1]["sequence"] == 2


def test_rollback_signed_by_a_promotion_key_is_refused(store: Store, tmp_path: Path) -> None:
    f, kit = _at_110(store, tmp_path)
    store.publish("1.0.0", 3, rollback=True, evidence=store.evidence("1.0.0"))  # channel key
    out = f.poll()
    assert out.action is Action.REFUSED and out.reason == "rollback-not-authorized", out
    assert kit.current_payload() == b"app 1.1.0\n"  # type: ignore[attr-defined]


def test_rollback_refused_where_the_host_allows_no_rollback_keys(
    store: Store, tmp_path: Path
) -> None:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    store.publish("1.1.0", 1, evidence=store.evidence("1.1.0"))
    f, _ = follower(store, tmp_path, rollback_trust=False)
    assert f.poll().action is Action.INSTALLED
    store.publish(
        "1.0.0", 2, rollback=True, evidence=store.evidence("1.0.0"), key=store.rollback_key
    )
    out = f.poll()
    assert out.action is Action.REFUSED, out
    assert out.reason == "channel-signature"  # nobody this host trusts signed it


def test_replayed_older_statement_is_refused(store: Store, tmp_path: Path) -> None:
    f, kit = _at_110(store, tmp_path)
    old = (store.root / "channels/history/global/000000000001.json").read_bytes()
    (store.root / "channels/global.json").write_bytes(old)  # the store replays #1
    out = f.poll()
    assert out.action is Action.REFUSED and out.reason == "channel-replay", out
    assert kit.current_payload() == b"app 1.1.0\n"  # type: ignore[attr-defined]
    # a fresh agent process (no memory in RAM) refuses it too: the sequence is on disk
    f2 = ChannelFollower(f.policy, str(store.root))
    assert f2.poll().reason == "channel-replay"


def test_expired_statement_is_refused_and_reported(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish(
        "1.0.0",
        1,
        evidence=store.evidence("1.0.0"),
        issued=NOW - timedelta(hours=2),
        expires=NOW - timedelta(hours=1),
    )
    f, kit = follower(store, tmp_path)
    detail = _refused(f, kit, "channel-expired")
    assert "expired" in detail


def test_statement_expiring_while_held_is_reported_on_unchanged_polls(
    store: Store, tmp_path: Path
) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"), expires=NOW + timedelta(hours=1))
    f, kit = follower(store, tmp_path)
    assert f.poll().action is Action.INSTALLED
    later = NOW + timedelta(hours=2)
    for _ in range(2):
        out = f.poll(now=later)
        assert out.action is Action.REFUSED and out.reason == "channel-expired"
    assert len(events(kit, "channel-refused")) == 1  # logged once, reported every poll
    assert kit.current_payload() == b"app 1.0.0\n"  # type: ignore[attr-defined]


def test_memory_file_is_canonical_json(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    f, kit = follower(store, tmp_path)
    f.poll()
    memory = json.loads((kit.root / "channel.json").read_text())  # type: ignore[attr-defined]
    assert memory["sequence"] == 1 and memory["refused"] is None


def test_a_refused_statement_stays_refused_on_unchanged_polls(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1)  # no evidence
    f, kit = follower(store, tmp_path)
    first = f.poll()
    assert first.action is Action.REFUSED and first.reason == "ungated"
    for _ in range(3):
        again = f.poll()
        assert again == first  # reported every poll (a 304 from the store)
    assert f.counts["not_modified"] == 3
    assert len(events(kit, "channel-refused")) == 1  # logged once


def test_channel_threshold_two_of_two(store: Store, tmp_path: Path) -> None:
    from channelkit import trust_toml

    from nebsign.channels.publish import publish_statement
    from nebsign.keys import generate_key

    second = generate_key()
    store.release("1.0.0")
    st = store.publish("1.0.0", 1, channel="canary")  # one signer
    f, kit = follower(store, tmp_path, channel="canary")
    conf = kit.conf  # type: ignore[attr-defined]
    (conf / "channel-trust.toml").write_text(trust_toml([store.channel_key, second], threshold=2))
    f = ChannelFollower(kit.policy(), str(store.root))  # type: ignore[attr-defined]
    out = f.poll()
    assert out.action is Action.REFUSED and out.reason == "channel-signature", out
    assert "1 of 2" in out.detail
    from dataclasses import replace

    publish_statement(store.root, replace(st, sequence=2), [store.channel_key, second], {})
    assert f.poll().action is Action.INSTALLED


def test_run_channel_waits_interval_plus_jitter(store: Store, tmp_path: Path) -> None:
    import random
    import threading

    from nebsign.agent.channel import run_channel

    store.release("1.0.0")
    store.publish("1.0.0", 1, channel="canary")
    kit = host(store, tmp_path / "host", channel="canary")

    class Stop(threading.Event):
        def __init__(self) -> None:
            super().__init__()
            self.waits: list[float] = []

        def wait(self, timeout: float | None = None) -> bool:
            assert timeout is not None
            self.waits.append(timeout)
            if len(self.waits) >= 6:
                self.set()
            return self.is_set()

    stop = Stop()
    seen: list[Action] = []
    run_channel(
        kit.policy(), str(store.root), interval=30, jitter=20, stop=stop,
        report=lambda o: seen.append(o.action), rng=random.Random(3),
    )  # fmt: skip
    assert 0 <= stop.waits[0] <= 20  # first delay: jitter only
    assert all(30 <= w <= 50 for w in stop.waits[1:])
    assert len(set(stop.waits[1:])) > 1  # drawn each time
    assert seen[0] is Action.INSTALLED and set(seen[1:]) == {Action.UNCHANGED}


def test_a_malformed_extra_signature_counts_for_nothing(store: Store, tmp_path: Path) -> None:
    from nebsign.channels.model import signature_paths
    from nebsign.digest import sha256_bytes

    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    sha = sha256_bytes((store.root / "channels/global.json").read_bytes())
    (store.root / signature_paths(sha)[1]).write_bytes(b"{not a bundle")
    f, _ = follower(store, tmp_path)
    assert f.poll().action is Action.INSTALLED
