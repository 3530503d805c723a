"""A simulated fleet: N agents (threads, one agent root each) polling one loopback store.

Each agent runs the real :class:`~nebsign.agent.channel.ChannelFollower` in
the same loop as ``agent run`` (poll, then wait P + uniform(0, J)), with
compressed intervals. Every poll records the *generation* (how many
statements had been published when it started) and what the agent runs after
it, so the convergence bound is checked without a clock: **every poll that
starts after a publish ends with the agent on the published release**; an
agent therefore converges within one poll interval plus jitter plus the
install itself. The store counts 200s, 304s and bytes per file.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from nebsign.agent.channel import Action, ChannelFollower, ChannelOutcome
from nebsign.agent.state import load_state
from nebsign.policy.host import HostPolicy


@dataclass
class PollRecord:
    generation: int
    outcome: ChannelOutcome
    current: str | None
    started: float
    ended: float
    cpu: float


@dataclass
class Agent:
    index: int
    follower: ChannelFollower
    records: list[PollRecord] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.follower.policy.root


@dataclass
class Fleet:
    policy: HostPolicy
    store_url: str
    base: Path
    size: int
    interval: float
    jitter: float
    seed: int = 1
    agents: list[Agent] = field(default_factory=list)
    generation: int = 0
    published_at: dict[int, float] = field(default_factory=dict)
    publishing_from: dict[int, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for i in range(self.size):
            root = self.base / f"agent-{i:04d}"
            policy = replace(self.policy, root=root)
            self.agents.append(Agent(i, ChannelFollower(policy, self.store_url)))
        for agent in self.agents:
            t = threading.Thread(target=self._loop, args=(agent,), daemon=True)
            t.start()
            self.threads.append(t)

    def _loop(self, agent: Agent) -> None:
        rng = random.Random(self.seed * 100_003 + agent.index)
        self.stop.wait(rng.uniform(0, self.jitter))
        while not self.stop.is_set():
            gen = self.generation
            started, cpu0 = time.monotonic(), time.thread_time()
            out = agent.follower.poll()
            cpu = time.thread_time() - cpu0
            current = load_state(agent.root / "state.json").current
            agent.records.append(PollRecord(gen, out, current, started, time.monotonic(), cpu))
            self.stop.wait(self.interval + rng.uniform(0, self.jitter))

    def publish(self, action: Callable[[], object]) -> int:
        """Run *action* (write a statement), then open a new generation."""
        self.publishing_from[self.generation + 1] = time.monotonic()
        action()
        self.generation += 1
        self.published_at[self.generation] = time.monotonic()
        return self.generation

    def wait_converged(self, version: str, generation: int, timeout: float) -> bool:
        """Until every agent has finished a poll of *generation* running *version*."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(
                any(r.generation >= generation and r.current == version for r in a.records)
                for a in self.agents
            ):
                return True
            time.sleep(0.05)
        return False

    def wait_polls(self, generation: int, polls: int, timeout: float) -> bool:
        """Until every agent has finished *polls* polls that started in *generation*."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(
                sum(1 for r in a.records if r.generation == generation) >= polls
                for a in self.agents
            ):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def late(self, generation: int, version: str) -> list[tuple[int, PollRecord]]:
        """Polls that started after *generation* was published but ended elsewhere.

        A poll still running when the next publish began may see that one instead.
        """
        cutoff = self.publishing_from.get(generation + 1, float("inf"))
        return [
            (a.index, r)
            for a in self.agents
            for r in a.records
            if r.generation == generation
            and r.outcome.action is not Action.ERROR
            and r.current != version
            and r.ended < cutoff
        ]

    def convergence_seconds(self, generation: int, version: str) -> list[float]:
        """Per agent: publish to the end of its first poll running *version*."""
        t0 = self.published_at[generation]
        out = []
        for a in self.agents:
            ends = [
                r.ended for r in a.records if r.generation >= generation and r.current == version
            ]
            if ends:
                out.append(min(ends) - t0)
        return out
