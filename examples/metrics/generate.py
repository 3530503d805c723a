"""Generate the bundled sample metrics (deterministic: fixed seeds, fixed times).

    python examples/metrics/generate.py     # rewrites the files next to this script

Staging: nebsign metrics JSON, 20 runs per KPI with ~2% run-to-run noise;
``staging-current-pass.json`` is the same code, ``staging-current-fail.json``
has a 9% slower order-matching p99. Canary: OpenMetrics time series over
4 h 10 min at one sample a minute; ``canary-fail.om`` has a 5xx burst.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = "https://nebsign.dev/metrics/v1"
START = 1_767_225_600  # 2026-01-01T00:00:00Z
KPIS = {
    "api_latency_p50_ms": 4.2,
    "api_latency_p99_ms": 18.5,
    "order_match_latency_p99_us": 310.0,
    "throughput_orders_per_s": 5200.0,
}


def staging(seed: int, slower: dict[str, float], runs: int = 20, noise: float = 0.02) -> str:
    rng = random.Random(seed)
    series = []
    for name, base in KPIS.items():
        factor = 1 + slower.get(name, 0.0)
        values = [round(base * factor * (1 + rng.gauss(0, noise)), 3) for _ in range(runs)]
        series.append({"name": name, "type": "gauge", "samples": values})
    return json.dumps({"schema": SCHEMA, "series": series}, indent=1) + "\n"


def canary(
    *,
    minutes: int = 250,
    rps: int = 40,
    error_every: int = 0,
    burst: tuple[int, int, int] | None = None,
    crash_at: tuple[int, ...] = (),
    failed_trades_at: tuple[int, ...] = (),
    saturation_peak: float = 0.62,
    seed: int = 7,
    start: int = START,
    skip: tuple[str, ...] = (),
    errors_at: dict[int, int] | None = None,
    reset_at: int | None = None,
    drop: tuple[str, int, int] | None = None,
) -> str:
    """OpenMetrics text: counters and a gauge, one sample a minute."""
    rng = random.Random(seed)
    ok = err = sessions = crashes = failed = 0
    rows: dict[str, list[str]] = {}
    for minute in range(minutes + 1):
        ts = start + 60 * minute
        if minute:
            requests = rps * 60
            bad = 0
            if error_every and minute % error_every == 0:
                bad = 1
            if burst and burst[0] <= minute < burst[1]:
                bad += burst[2]
            bad += (errors_at or {}).get(minute, 0)
            if minute == reset_at:  # the process restarted: counters from zero
                ok = err = sessions = crashes = failed = 0
            ok += requests - bad
            err += bad
            sessions += 30
            crashes += crash_at.count(minute)
            failed += failed_trades_at.count(minute)
        sat = round(min(saturation_peak, 0.35 + 0.25 * rng.random()), 4)
        if minute == minutes // 2:
            sat = saturation_peak
        for key, line in (
            ("http_requests", f'http_requests_total{{code="200"}} {ok} {ts}'),
            ("http_requests", f'http_requests_total{{code="500"}} {err} {ts}'),
            ("sessions_started", f"sessions_started_total {sessions} {ts}"),
            ("session_crashes", f"session_crashes_total {crashes} {ts}"),
            ("trade_executions_failed", f"trade_executions_failed_total {failed} {ts}"),
            ("db_pool_saturation_ratio", f"db_pool_saturation_ratio {sat} {ts}"),
        ):
            dropped = drop is not None and drop[0] == key and drop[1] <= minute < drop[2]
            if key not in skip and not dropped:
                rows.setdefault(key, []).append(line)
    out = []
    for key, lines in rows.items():
        kind = "gauge" if key.endswith("ratio") else "counter"
        out.append(f"# TYPE {key} {kind}")
        # OpenMetrics wants one series' samples together, in time order
        for label in sorted({ln.split(" ")[0] for ln in lines}):
            out.extend(ln for ln in lines if ln.split(" ")[0] == label)
    out.append("# EOF")
    return "\n".join(out) + "\n"


def main() -> None:
    files = {
        "staging-baseline.json": staging(1, {}),
        "staging-current-pass.json": staging(2, {}),
        "staging-current-fail.json": staging(3, {"order_match_latency_p99_us": 0.09}),
        "canary-pass.om": canary(),
        "canary-fail.om": canary(burst=(120, 130, 100)),
    }
    for name, text in files.items():
        (HERE / name).write_text(text)


if __name__ == "__main__":
    main()
