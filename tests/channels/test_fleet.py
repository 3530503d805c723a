"""A fleet of 200 agents against one loopback store: promote, roll back, an outage.

No clock in the verdicts: the bound is that every poll starting after a
publish ends on the published release (so each host converges within
P + J + install), nothing unverified is ever current, and an unchanged poll
costs a 304. ``bench/bench_fleet.py`` runs the same at 1,000 agents with times.
"""

from __future__ import annotations

from pathlib import Path

from channelkit import Store, host, serve
from fleet import Fleet

from nebsign.agent.auditlog import verify_log
from nebsign.agent.channel import Action
from nebsign.agent.state import load_state

AGENTS = 200
P, J = 0.4, 0.2


def _check_verified(fleet: Fleet, store: Store) -> None:
    signed = set(store.manifests.values())
    for agent in fleet.agents:
        state = load_state(agent.root / "state.json")
        assert {r.manifest_sha256 for r in state.releases} <= signed
        verify_log(agent.root / "audit.log", state.log)
        for rec in agent.records:
            assert rec.current in (None, "1.0.0", "1.1.0")
        assert (agent.root / "releases" / "1.2.0").exists() is False


def _errors(fleet: Fleet) -> int:
    return sum(1 for a in fleet.agents for r in list(a.records) if r.outcome.action is Action.ERROR)


def test_fleet_promote_then_rollback(store: Store, tmp_path: Path) -> None:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    kit = host(store, tmp_path / "host")
    with serve(store.root) as (url, handler):
        fleet = Fleet(kit.policy(), url, tmp_path / "fleet", AGENTS, P, J)
        try:
            g1 = fleet.publish(lambda: store.publish("1.0.0", 1, evidence=store.evidence("1.0.0")))
            fleet.start()
            assert fleet.wait_converged("1.0.0", g1, timeout=120)
            assert fleet.wait_polls(g1, 3, timeout=60)  # quiet rounds: 304s only
            quiet, quiet_errors = dict(handler.counts), _errors(fleet)
            assert fleet.wait_polls(g1, 5, timeout=60)
            after, after_errors = dict(handler.counts), _errors(fleet)
            # no body sent while unchanged; a poll that failed (a stall on a loaded machine)
            # makes the next one ask again unconditionally: one 200 for each at most
            assert after.get("200", 0) - quiet.get("200", 0) <= after_errors - quiet_errors
            assert after.get("304", 0) - quiet.get("304", 0) >= AGENTS

            g2 = fleet.publish(lambda: store.publish("1.1.0", 2, evidence=store.evidence("1.1.0")))
            assert fleet.wait_converged("1.1.0", g2, timeout=120)
            assert fleet.late(g2, "1.1.0") == []  # the first poll after the publish converged

            g3 = fleet.publish(
                lambda: store.publish(
                    "1.0.0",
                    3,
                    rollback=True,
                    evidence=store.evidence("1.0.0"),
                    key=store.rollback_key,
                )
            )
            assert fleet.wait_converged("1.0.0", g3, timeout=120)
            assert fleet.late(g3, "1.0.0") == []
            assert fleet.wait_polls(g3, 2, timeout=60)
        finally:
            fleet.close()
    for agent in fleet.agents:
        actions = [r.outcome.action for r in agent.records if r.generation >= g2]
        assert Action.SWITCHED in actions  # rolled back locally, not fetched again
        assert not [r for r in agent.records if r.outcome.action is Action.REFUSED]
    _check_verified(fleet, store)
    # per agent: 3 statements fetched once each (plus signatures), every other poll a 304
    # (a poll after a store error asks again unconditionally)
    polls = sum(len(a.records) for a in fleet.agents)
    errors = sum(1 for a in fleet.agents for r in a.records if r.outcome.action is Action.ERROR)
    assert handler.counts.get("304", 0) >= polls - 3 * AGENTS - errors


def test_fleet_across_a_store_outage_and_a_stolen_promotion_key(
    store: Store, tmp_path: Path
) -> None:
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        store.release(v)
    kit = host(store, tmp_path / "host")
    size = 30
    with serve(store.root) as (url, handler):
        fleet = Fleet(kit.policy(), url, tmp_path / "fleet", size, P, J)
        try:
            g1 = fleet.publish(lambda: store.publish("1.0.0", 1, evidence=store.evidence("1.0.0")))
            fleet.start()
            assert fleet.wait_converged("1.0.0", g1, timeout=60)
            handler.down.set()
            g2 = fleet.publish(lambda: store.publish("1.1.0", 2, evidence=store.evidence("1.1.0")))
            assert fleet.wait_polls(g2, 2, timeout=60)
            for agent in fleet.agents:
                during = [r for r in agent.records if r.generation == g2]
                assert all(r.outcome.action is Action.ERROR for r in during)
                assert all("store unreachable" in r.outcome.detail for r in during)
                assert all(r.current == "1.0.0" for r in during)  # keeps running
            g3 = fleet.publish(handler.down.clear)
            assert fleet.wait_converged("1.1.0", g3, timeout=60)
            assert fleet.late(g3, "1.1.0") == []
            # a validly signed statement for an ungated release: every host refuses it
            g4 = fleet.publish(lambda: store.publish("1.2.0", 3))
            assert fleet.wait_polls(g4, 2, timeout=60)
        finally:
            fleet.close()
    for agent in fleet.agents:
        after = [r for r in agent.records if r.generation == g4]
        assert all(r.outcome.action is Action.REFUSED for r in after)
        assert all(r.outcome.reason == "ungated" and r.current == "1.1.0" for r in after)
    store.manifests.pop("1.2.0")  # signed, but never installed anywhere
    _check_verified(fleet, store)
