"""The time-based decision: delays confirmed only when every delayed request, and only those,
is slower by the asked delay; load alone never confirms. Plus the real thing on a real server."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from dast.servers import serve

from nebsign.dast.model import RequestSpec, Response
from nebsign.dast.scan import ScanConfig, run_scan
from nebsign.dast.timing import confirm_delay

SPEC = RequestSpec("GET", "http://127.0.0.1:1/")


def _sender(times: dict[float, list[float]]) -> Any:
    """Replays recorded response times per requested delay (the decision is under test)."""
    iters = {d: iter(ts) for d, ts in times.items()}

    async def send(d: float) -> tuple[RequestSpec, Response]:
        return SPEC, Response("GET", SPEC.url, 200, elapsed=next(iters[d]))

    return send


def _decide(times: dict[float, list[float]]) -> bool:
    return asyncio.run(confirm_delay(_sender(times), delay=1.0)) is not None


def test_a_real_delay_is_confirmed() -> None:
    assert _decide({1.0: [1.02, 1.05, 1.01, 1.03], 0.0: [0.01, 0.02, 0.01], 2.0: [2.01]})


def test_a_fast_delayed_answer_refutes_at_once() -> None:
    assert not _decide({1.0: [0.3], 0.0: [], 2.0: []})
    assert not _decide({1.0: [1.2, 1.1, 0.2], 0.0: [0.01, 0.01], 2.0: []})


def test_a_loaded_server_slow_for_everything_is_never_confirmed() -> None:
    # every response takes 1-3 s, payload or control alike
    slow = [1.4, 2.9, 1.1, 2.2, 1.7, 2.5, 1.3, 2.0, 2.8]
    assert not _decide({1.0: slow, 0.0: slow[::-1], 2.0: [2.5]})


def test_sporadic_stalls_do_not_add_up_to_a_finding() -> None:
    # one stall coincides with a delayed request; the next delayed request is fast
    assert not _decide({1.0: [1.5, 1.3, 0.05], 0.0: [0.02, 0.03], 2.0: []})


def test_the_doubled_delay_must_also_hold() -> None:
    assert not _decide({1.0: [1.02, 1.05, 1.01, 1.03], 0.0: [0.01, 0.02, 0.01], 2.0: [1.2]})


def _sleepy(env: dict[str, Any], start: Any) -> list[bytes]:
    # a server that is randomly slow (0-1.2 s) for every request but never sleeps on input
    time.sleep((next(_n) * 0.37) % 1.2)
    start("200 OK", [("Content-Type", "text/html")])
    return [b"<a href='/q?id=1'>q</a><a href='/p?host=x'>p</a>"]


_n = itertools.count()


def test_randomly_slow_server_gives_no_time_based_finding() -> None:
    with serve(_sleepy) as base:
        out = run_scan(ScanConfig(target=base + "/", checks=("sqli-time", "command-injection")))
    assert [f for f in out.findings if f.properties.get("kind") == "active"] == []
    assert out.requests > 10
