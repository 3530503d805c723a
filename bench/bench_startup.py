"""Start-up of `nebsign --version` and key-based `nebsign verify`: this tree against another.

Issue 10 asks that start-up stay unchanged or better across refactors. Both sides run
with the same interpreter and venv (PYTHONPATH picks the tree), interleaved round by
round, on the same 4 KiB artifact, key and bundle::

    git worktree add /tmp/before 3fa7972 && cp nebsign/_speedups*.so /tmp/before/nebsign/
    .venv/bin/python bench/bench_startup.py --before /tmp/before --rounds 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="another checkout of nebsign (the baseline)")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    trees = {"before": str(Path(args.before).resolve()), "after": str(REPO)}
    work = Path(tempfile.mkdtemp(prefix="nebsign-startup-"))
    art = work / "one.bin"
    art.write_bytes(os.urandom(4096))
    env = dict(os.environ, NEBSIGN_PASSPHRASE="bench-only-passphrase")

    def run(argv: list[str], tree: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "nebsign", *argv],
            env=dict(env, PYTHONPATH=tree),
            capture_output=True,
            check=False,
        )

    for argv in (
        ["key", "generate", "-o", str(work / "k")],
        ["sign", str(art), "--key", str(work / "k.key")],
    ):
        done = run(argv, str(REPO))
        if done.returncode != 0:
            sys.exit(f"setup failed: {done.stderr.decode(errors='replace')}")
    cases = {
        "--version": ["--version"],
        "verify (key)": ["verify", str(art), "--key", str(work / "k.pub")],
    }
    for tree in trees.values():  # both sides must do the work, not fail fast
        for argv in cases.values():
            if run(argv, tree).returncode != 0:
                sys.exit(f"{tree}: nebsign {' '.join(argv)} failed")
    times: dict[tuple[str, str], list[float]] = {(c, t): [] for c in cases for t in trees}
    for _ in range(args.rounds):
        for case, argv in cases.items():
            for name, tree in trees.items():
                start = time.perf_counter()
                run(argv, tree)
                times[(case, name)].append(time.perf_counter() - start)
    print(f"load {os.getloadavg()[0]:.1f}, {args.rounds} interleaved rounds")
    for case in cases:
        b, a = times[(case, "before")], times[(case, "after")]
        ratios = sorted(x / y for x, y in zip(a, b, strict=True))
        q = len(ratios) // 4
        print(
            f"{case:13s} before median {statistics.median(b) * 1000:.0f} ms "
            f"(min {min(b) * 1000:.0f}), "
            f"after median {statistics.median(a) * 1000:.0f} ms (min {min(a) * 1000:.0f}); "
            f"after/before {statistics.median(a) / statistics.median(b):.2f}x "
            f"(per-round IQR {ratios[q]:.2f}-{ratios[-q - 1]:.2f})"
        )


if __name__ == "__main__":
    main()
