"""Benchmarks for the on-host agent (run by hand: .venv/bin/python bench/bench_agent.py).

1. Installing a 1 GiB artifact vs ``cp`` followed by ``openssl dgst -sha256`` of
   the copy (the peer: two passes). nebsign reads, hashes and writes in one
   pass, verifies signatures and attestations, fsyncs, and switches ``current``.
   Target: <= 1.15x the peer's wall time.
2. Rollback of a release of 10,000 files: the switch (lock, recovery check,
   symlink rename, fsync, audit line, state save) and, separately, the
   re-check of all files against the stored manifest. Target: switch <= 0.1 s.

Both sides run warm (the source file in the page cache), best of N runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "agent"))

from agentkit import ReleaseKit

from nebsign.agent.install import install_release
from nebsign.agent.layout import AgentLayout
from nebsign.agent.rollback import recheck_release, rollback_in_session
from nebsign.agent.session import open_session


def _big_file(path: Path, size: int) -> None:
    chunk = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(chunk))
            fh.write(chunk[:n])
            left -= n
    os.sync()  # the source is clean in the page cache, as a published file would be


def bench_install(work: Path, size: int, runs: int) -> None:
    src = work / "artifact.bin"
    _big_file(src, size)
    ours: list[float] = []
    peer: list[float] = []
    peer_sync: list[float] = []
    for i in range(runs):  # interleaved, so background load hits both sides alike
        for sync, out in ((False, peer), (True, peer_sync)):
            dst = work / "peer-copy.bin"
            t0 = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            if sync:
                subprocess.run(["sync", str(dst)], check=True)
            subprocess.run(
                ["openssl", "dgst", "-sha256", str(dst)], check=True, capture_output=True
            )
            out.append(time.perf_counter() - t0)
            dst.unlink()
        kit = ReleaseKit(work / f"kit-install-{i}")  # a fresh agent root: a real install each run
        rel = kit.build("1.0.0", {}, link_files={"artifact.bin": src})
        policy = kit.policy()
        os.sync()
        t0 = time.perf_counter()
        install_release(policy, str(rel))
        ours.append(time.perf_counter() - t0)
        shutil.rmtree(kit.base)
    o, p, ps = min(ours), min(peer), min(peer_sync)
    print(f"install of a {size / 2**30:.2f} GiB artifact (best of {runs}):")
    print(f"  nebsign agent install          {o:7.3f} s  (median {statistics.median(ours):.3f})")
    print(f"  cp + openssl dgst -sha256      {p:7.3f} s  (median {statistics.median(peer):.3f})")
    print(
        f"  cp + sync + openssl dgst       {ps:7.3f} s  (median {statistics.median(peer_sync):.3f})"
    )
    print(f"  ratio vs cp+dgst        {o / p:.2f}x  (target <= 1.15x)")
    print(f"  ratio vs cp+sync+dgst   {o / ps:.2f}x  (same durability as the agent's fsync)")


def bench_rollback(work: Path, files: int, runs: int) -> None:
    kit = ReleaseKit(work / "kit-rollback")
    policy = kit.policy()
    for version in ("1.0.0", "1.1.0"):
        payload = {
            f"d{i // 100:03d}/f{i:05d}.txt": f"{version} {i}\n".encode() for i in range(files)
        }
        t0 = time.perf_counter()
        install_release(policy, str(kit.build(version, payload)))
        print(
            f"  (setup: installed {version} with {files} files in {time.perf_counter() - t0:.2f} s)"
        )
    layout = AgentLayout(kit.root)
    switches: list[float] = []
    rechecks: list[float] = []
    targets = ["1.0.0", "1.1.0"]
    for i in range(runs):
        target = targets[i % 2]
        with open_session(kit.root) as session:
            rec = session.state.record(target)
            assert rec is not None
            t0 = time.perf_counter()
            recheck_release(layout, rec)
            rechecks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with open_session(kit.root) as session:
            rollback_in_session(session, target, recheck=False)
        switches.append(time.perf_counter() - t0)
    print(f"rollback of a {files}-file release ({runs} runs):")
    print(
        f"  switch (lock+recovery+rename+fsync+log+state)  best {min(switches) * 1000:7.1f} ms"
        f"  median {statistics.median(switches) * 1000:7.1f} ms  (target <= 100 ms)"
    )
    print(
        f"  re-check of {files} files against the manifest  best {min(rechecks) * 1000:7.1f} ms"
        f"  median {statistics.median(rechecks) * 1000:7.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="scratch directory (same filesystem as /var)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nebsign-bench-agent-", dir=args.dir) as tmp:
        work = Path(tmp)
        if args.files:
            bench_rollback(work, args.files, max(args.runs, 5))
        bench_install(work, args.size_mib * 1024 * 1024, args.runs)


if __name__ == "__main__":
    main()
