"""Shared timing helpers of the benchmarks: interleaved runs, medians with their spread.

Every ratio a benchmark prints comes from runs interleaved round by round (so a load
spike from elsewhere hits both sides alike) and is given with the number of rounds and
the spread of the per-round ratios, as bench/README.md reports it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {len(os.sched_getaffinity(0))} CPUs"


def timed(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> float:
    """Wall seconds of one process run to completion; exits if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode()[-1500:]}")
    return elapsed


def interleave(sides: Mapping[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Each side once as a warm-up, then *runs* rounds of every side in turn."""
    for fn in sides.values():
        fn()
    out: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(runs):
        for key, fn in sides.items():
            out[key].append(fn())
    return out


def summary(samples: Sequence[float], unit: str = "ms") -> str:
    """'median X unit (min-max A-B, n runs)'."""
    scale = 1000.0 if unit == "ms" else 1.0
    med, lo, hi = statistics.median(samples), min(samples), max(samples)
    digits = 0 if unit == "ms" else 3
    return (
        f"median {med * scale:.{digits}f} {unit} "
        f"(range {lo * scale:.{digits}f}-{hi * scale:.{digits}f}, {len(samples)} runs)"
    )


def ratio(num: Sequence[float], den: Sequence[float]) -> str:
    """Ratio of the medians, with the range of the per-round ratios."""
    per_round = sorted(a / b for a, b in zip(num, den, strict=True))
    med = statistics.median(num) / statistics.median(den)
    return (
        f"{med:.2f}x (per-round {per_round[0]:.2f}-{per_round[-1]:.2f}, "
        f"{len(per_round)} interleaved rounds)"
    )
