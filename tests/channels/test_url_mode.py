"""Plain `agent run --url RELEASE` (no channel): conditional polls, jitter (issue 14 item 7)."""

from __future__ import annotations

import threading
from pathlib import Path

from channelkit import Store, host, serve

from nebsign.agent.daemon import Event, EventKind, run_daemon


class CountingStop(threading.Event):
    """Stops after *polls* waits and records each wait (no clock involved)."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = polls
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if len(self.waits) >= self.polls:
            self.set()
        return self.is_set()


def test_unchanged_release_is_a_304_after_the_first_poll(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    kit = host(store, tmp_path / "host")
    events: list[Event] = []
    with serve(store.root) as (url, handler):
        release = f"{url}/releases/app/1.0.0"
        stop = CountingStop(5)
        stats = run_daemon(
            kit.policy(), url=release, interval=10, jitter=5, stop=stop, report=events.append
        )
        manifest_200s = handler.counts.get("200", 0)
        assert stats.polls == 5 and stats.installed == 1
        assert stats.not_modified == 4  # every poll after the install: a 304, no body
        assert handler.counts["304"] == 4
        assert all(10 <= w <= 15 for w in stop.waits) and len(set(stop.waits)) > 1
        # a new release at the same URL is fetched in full once, then 304s again
        store.release("1.0.0", files={"bin/app": b"same version, other bytes\n"})
        stop2 = CountingStop(3)
        again = run_daemon(kit.policy(), url=release, interval=1, stop=stop2, report=events.append)
        assert again.refused == 1 and again.not_modified == 2
        assert handler.counts.get("200", 0) > manifest_200s
    assert [e.kind for e in events][:1] == [EventKind.INSTALLED]
