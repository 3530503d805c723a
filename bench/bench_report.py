#!/usr/bin/env python3
"""Public audit report benchmarks (issue 13). Run by hand, not in CI:

    .venv/bin/python bench/bench_report.py            # 10,000 findings
    .venv/bin/python bench/bench_report.py --n 2000   # smaller

A signed release with N findings (half SAST, 30% DAST, 20% audit, real
Ed25519 signatures) is built in bench/_work/report/ (git-ignored). Measured,
each the median of interleaved rounds:

* render: the three formats (model + index.html + report.md + report.json)
  from the verified evidence, target <= 2 s at 10,000 findings; shown also as
  a ratio to the floor of writing the same document once (``json.dumps``);
* build: the whole ``build_report_dir`` (verify evidence, render, sign, write);
* verify: ``verify_report_dir`` (signature, hashes, re-render HTML and
  Markdown from the signed JSON, compare), target <= 2 s; and ``nebsign report
  verify`` as a process;
* linearity: index.html bytes per finding at N/10, N/2 and N (constant = linear).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work" / "report"
sys.path.insert(0, str(REPO / "tests"))

from report import reportkit as kit  # noqa: E402

from nebsign.keys import generate_key, public_key_pem  # noqa: E402
from nebsign.policy.trust import TrustPolicy  # noqa: E402
from nebsign.report.evidence import load_release  # noqa: E402
from nebsign.report.model import build_report  # noqa: E402
from nebsign.report.publish import build_report_dir, verify_report_dir  # noqa: E402
from nebsign.report.render import _prose, render_all  # noqa: E402

render_cache_clear = _prose.cache_clear


def _findings(n: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"sast": [], "dast": [], "audit": []}
    for i in range(n):
        source = "sast" if i % 10 < 5 else "dast" if i % 10 < 8 else "audit"
        status = ["open", "open", "fixed", "accepted-risk", "acknowledged"][i % 5]
        note = {"who": "sec@example.com", "why": "reviewed", "until": "2027-01-01"}
        out[source].append(
            kit.finding(
                source,
                i,
                status=status,
                status_note=note if status != "open" else None,
                message=f"Value from `request.args` reaches a SQL query in handler {i}; "
                "see [the guide](https://owasp.org/sqli) for *parameterized* queries.",
                recommendation="Use bound parameters.",
            )
        )
    for items in out.values():
        for f in items:
            if f.get("status_note") is None:
                f.pop("status_note", None)
    return out


def make(n: int, root: Path, key: Any) -> Path:
    f = _findings(n)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return kit.make_release(
        root / "rel", key, [kit.sast(f["sast"]), kit.dast(f["dast"]), kit.audit(f["audit"])]
    )


CPU: dict[int, float] = {}


def median_of(fn: Any, rounds: int) -> float:
    """Median wall time; the median CPU time of this process goes to CPU[id(fn)]."""
    times, cpu = [], []
    for _ in range(rounds):
        start, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - c0)
    CPU[id(fn)] = statistics.median(cpu)
    return statistics.median(times)


def timed(label: str, fn: Any, rounds: int, note: str = "") -> float:
    wall = median_of(fn, rounds)
    print(f"  {label:<46} {wall:6.3f} s wall, {CPU[id(fn)]:6.3f} s CPU{note}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    key = generate_key()
    policy = TrustPolicy.from_keys([key.public_key()])
    sizes = {}
    for n in (args.n // 10, args.n // 2, args.n):
        rel = make(n, WORK / f"n{n}", key)
        doc = build_report(load_release(rel, policy))
        sizes[n] = len(render_all(doc)["index.html"])
    print("index.html bytes per finding (constant = linear):")
    for n, size in sizes.items():
        print(f"  {n:>6} findings: {size / 1e6:7.2f} MB  {size / n:7.0f} B/finding")

    rel = WORK / f"n{args.n}" / "rel"
    evidence = load_release(rel, policy)
    doc = build_report(evidence)
    out = WORK / "out"
    pub = WORK / "key.pub"
    pub.write_bytes(public_key_pem(key.public_key()))
    argv = [sys.executable, "-m", "nebsign", "report", "verify", str(out), "--trust-key", str(pub)]
    load = os.getloadavg()
    print(f"{args.n} findings; load average {load[0]:.1f} on {os.cpu_count()} CPUs:")
    floor = timed("json.dumps of the document (floor)", lambda: json.dumps(doc), args.rounds)

    def render() -> None:
        render_cache_clear()
        render_all(build_report(evidence))

    timed("verify the evidence (signatures, statements)", lambda: load_release(rel, policy), 1)
    t = timed("render all three formats (target <= 2 s)", render, args.rounds)
    print(f"    = {t / floor:.1f}x the json.dumps floor")
    timed(
        "report build (verify+render+sign+write)",
        lambda: build_report_dir(rel, out, policy=policy, key=key),
        args.rounds,
    )
    total = sum(len(p.read_bytes()) for p in out.iterdir())
    print(f"    outputs {total / 1e6:.1f} MB")
    timed(
        "report verify, in-process (target <= 2 s)",
        lambda: verify_report_dir(out, policy),
        args.rounds,
    )
    timed(
        "nebsign report verify, a process",
        lambda: subprocess.run(argv, check=True, capture_output=True),
        args.rounds,
        " (CPU: of this process only; wall counts)",
    )


if __name__ == "__main__":
    main()
