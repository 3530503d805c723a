#!/usr/bin/env python3
"""Fleet benchmark (issue 16 item 5, issue 14 item 7). Run by hand, not in CI:

    .venv/bin/python bench/bench_fleet.py                 # 1,000 agents, P = 2 s, J = 1 s
    .venv/bin/python bench/bench_fleet.py --agents 200 --interval 0.4 --jitter 0.2

N agents (threads in this process, one agent root each, the real channel
follower) poll one loopback static server with ETag / If-None-Match. The
script publishes 1.0.0, waits for the fleet, runs quiet rounds, promotes
1.1.0, then runs ``nebsign rollback --channel`` as a process (real keys) and
measures:

* time from the publish (the end of the ``nebsign rollback`` process) to the
  last host switched, against the bound P + J + 2 x the slowest poll measured
  in the same run (a publish may land during a poll, which then ends; the
  next poll, P + J later, switches), with compressed intervals (the real
  default is P = 30 s, J = 30 s: the bound is 60 s + two polls, inside 10 minutes);
* polls that started after a publish but did not end on the new release (0);
* server requests and bytes per unchanged poll (a 304: headers only), and
  the ratio of bytes for a changed poll (body) to an unchanged one;
* agent CPU per unchanged poll and per switching poll (thread CPU time);
* ``--throughput``: polls per second one loopback server sustains for an
  unchanged statement (304) against the same clients fetching it in full (200).

All agents share one process (and the GIL) with the server on a 2-core VM:
the times are an upper bound for a fleet whose hosts each have their own CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work" / "fleet"
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "channels"))

from channelkit import Store, host, serve, trust_toml  # noqa: E402
from fleet import Fleet  # noqa: E402

from nebsign.agent.channel import Action  # noqa: E402
from nebsign.keys import private_key_pem  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _hammer(target: str, validators: object, clients: int, seconds: float) -> tuple[float, float]:
    """(polls per second, client CPU seconds per poll) of *clients* threads for *seconds*."""
    import threading

    from nebsign._internal.condget import conditional_get

    done = [0] * clients
    cpu = [0.0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        c0 = time.thread_time()
        while time.monotonic() < stop:
            conditional_get(target, limit=65536, validators=validators)  # type: ignore[arg-type]
            done[i] += 1
        cpu[i] = time.thread_time() - c0

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds, sum(cpu) / max(sum(done), 1)


def throughput(seconds: float, clients: int) -> None:
    """Polls per second one loopback server sustains: 304s vs full 200s of the same file."""
    from nebsign._internal.condget import conditional_get

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    store = Store(WORK)
    store.release("1.0.0")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    with serve(store.root) as (url, _):
        target = f"{url}/channels/global.json"
        tag = conditional_get(target, limit=65536).validators
        results = {
            "unchanged (304)": _hammer(target, tag, clients, seconds),
            "changed (200 + body)": _hammer(target, None, clients, seconds),
        }
    for name, (rate, cpu) in results.items():
        print(f"{name}: {rate:.0f} polls/s, client CPU {cpu * 1e3:.2f} ms per poll")
    ratio = results["unchanged (304)"][0] / results["changed (200 + body)"][0]
    print(f"ratio 304 / 200 polls per second: {ratio:.2f} ({clients} clients, {seconds} s each)")
    shutil.rmtree(WORK, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--jitter", type=float, default=1.0)
    ap.add_argument("--throughput", action="store_true", help="Only polls/s of one server.")
    args = ap.parse_args()
    if args.throughput:
        throughput(5.0, 8)
        return
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    store = Store(WORK)
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    kit = host(store, WORK / "host")
    rkey = WORK / "rollback.key"
    rkey.write_bytes(private_key_pem(store.rollback_key, None))
    os.chmod(rkey, 0o600)
    (WORK / "gate-trust.toml").write_text(trust_toml([store.gate_key]))
    p, j, n = args.interval, args.jitter, args.agents
    with serve(store.root) as (url, handler):
        fleet = Fleet(kit.policy(), url, WORK / "agents", n, p, j)
        try:
            g1 = fleet.publish(lambda: store.publish("1.0.0", 1, evidence=store.evidence("1.0.0")))
            t = time.monotonic()
            fleet.start()
            assert fleet.wait_converged("1.0.0", g1, timeout=1800), "fleet did not install 1.0.0"
            first_install = time.monotonic() - t
            assert fleet.wait_polls(g1, 2, timeout=600)
            before = dict(handler.counts)
            assert fleet.wait_polls(g1, 4, timeout=600)
            after = dict(handler.counts)
            g2 = fleet.publish(lambda: store.publish("1.1.0", 2, evidence=store.evidence("1.1.0")))
            assert fleet.wait_converged("1.1.0", g2, timeout=1800)
            assert fleet.wait_polls(g2, 1, timeout=600)
            cmd = [sys.executable, "-m", "nebsign", "rollback", "--channel", "global"]
            cmd += ["--to", "1.0.0", "--store", str(store.root), "--key", str(rkey)]
            subprocess.run(cmd, check=True, capture_output=True)
            g3 = fleet.publish(lambda: None)  # the statement is out: the clock starts now
            assert fleet.wait_converged("1.0.0", g3, timeout=1800)
            assert fleet.wait_polls(g3, 1, timeout=600)
        finally:
            fleet.close()
    quiet_requests = after.get("304", 0) + after.get("200", 0) - before.get("304", 0)
    quiet_requests -= before.get("200", 0)
    quiet_body = after.get("body_bytes", 0) - before.get("body_bytes", 0)
    quiet_hdr = after.get("header_bytes", 0) - before.get("header_bytes", 0)
    n304 = after.get("304", 0) - before.get("304", 0)
    doc = (store.root / "channels" / "global.json").stat().st_size
    conv_promote = fleet.convergence_seconds(g2, "1.1.0")
    conv_rollback = fleet.convergence_seconds(g3, "1.0.0")
    records = [r for a in fleet.agents for r in a.records]
    unchanged_cpu = [r.cpu for r in records if r.outcome.action is Action.UNCHANGED]
    switch_cpu = [r.cpu for r in records if r.outcome.action is Action.SWITCHED]
    install_cpu = [r.cpu for r in records if r.outcome.action is Action.INSTALLED]
    switch_wall = [r.ended - r.started for r in records if r.outcome.action is Action.SWITCHED]
    install_wall = [r.ended - r.started for r in records if r.outcome.action is Action.INSTALLED]
    late = fleet.late(g2, "1.1.0") + fleet.late(g3, "1.0.0")
    refused = [r for r in records if r.outcome.action is Action.REFUSED]
    print(f"fleet: {n} agents, P = {p} s, J = {j} s, one loopback server, 2-vCPU VM")
    print(f"first install of 1.0.0 by the whole fleet: {first_install:.1f} s")
    for name, conv, wall in (
        ("promote 1.1.0 (fetch + install)", conv_promote, install_wall),
        ("rollback to 1.0.0 (local switch)", conv_rollback, switch_wall),
    ):
        # a publish can land during a poll: that poll ends (at most the slowest poll), the
        # agent waits P + J, and the next poll switches (at most the slowest poll again)
        bound = p + j + 2 * max(wall)
        print(
            f"{name}: last host after {max(conv):.2f} s (median {statistics.median(conv):.2f}, "
            f"p99 {_pct(conv, 0.99):.2f}); bound P+J+2 x slowest poll ({max(wall):.2f} s) = "
            f"{bound:.2f} s; ratio {max(conv) / bound:.2f}"
        )
    print(
        f"polls after a publish not ending on the new release: {len(late)}; refused: {len(refused)}"
    )
    for index, rec in late[:5]:
        out = rec.outcome
        print(f"  agent {index} gen {rec.generation}: {out.action.value} {out.detail[:200]}")
    print(
        f"unchanged rounds: {quiet_requests} requests, {n304} "
        f"were 304, {quiet_hdr / max(quiet_requests, 1):.0f} header bytes each, body bytes "
        f"{quiet_body} (a changed poll also sends the {doc}-byte statement)"
    )
    print(
        f"agent CPU per poll: unchanged {statistics.median(unchanged_cpu) * 1e3:.2f} ms, "
        f"switch {statistics.median(switch_cpu) * 1e3:.1f} ms, "
        f"install {statistics.median(install_cpu) * 1e3:.1f} ms (medians, thread CPU)"
    )
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
