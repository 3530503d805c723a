"""Audit-log scale (issue 9 item 10): a command's cost with 100 vs 100,000 log entries.

Run by hand: ``.venv/bin/python bench/bench_agent_log.py [--entries 100000] [--runs 5]``.

For each size an agent root gets one real install, then filler ``refused``
lines written in one go (canonical, chained, as the agent writes them) and
the state anchored at the end with its checkpoint. Timed, as processes:
``nebsign agent status`` and ``nebsign agent rollback`` (which opens a
locked session: checkpoint check, recovery, log append, state save), against
``nebsign --version`` in the same runs (the floor any command pays), and the
full ``agent log verify`` (which reads every line by design). Prints medians
and the ratio large/small: 1.0x means a command's cost does not grow with the
log.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "agent"))

from agentkit import ReleaseKit

from nebsign._internal.canonical import canonical_json
from nebsign.agent.auditlog import verify_log
from nebsign.agent.install import install_release
from nebsign.agent.state import load_state, save_state
from nebsign.digest import sha256_bytes

NEBSIGN = [sys.executable, "-m", "nebsign"]


def _root_with(base: Path, entries: int) -> ReleaseKit:
    kit = ReleaseKit(base)
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    install_release(policy, str(kit.build("1.1.0")))
    log = kit.root / "audit.log"
    state = load_state(kit.root / "state.json")
    assert state.log is not None
    prev, seq = state.log.sha256, state.log.seq + 1
    lines = []
    for i in range(entries):
        obj = {
            "event": "refused",
            "floor": "1.1.0",
            "message": f"release https://example/app/{i}: HTTP 404 Not Found",
            "prev": prev,
            "reason": "fetch-error",
            "seq": seq,
            "source": "https://example/app",
            "time": "2026-11-30T12:00:00Z",
        }
        line = canonical_json(obj)
        lines.append(line + b"\n")
        prev, seq = sha256_bytes(line), seq + 1
    with open(log, "ab") as fh:
        fh.write(b"".join(lines))
    head = verify_log(log, None).head
    save_state(
        kit.root / "state.json", type(state)(state.releases, state.current, state.highest, head)
    )
    return kit


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = _root_with(Path(tmp) / "small", 100)
        large = _root_with(Path(tmp) / "large", args.entries)
        size = (large.root / "audit.log").stat().st_size
        results: dict[str, list[float]] = {}
        for _ in range(args.runs):
            results.setdefault("--version", []).append(_time([*NEBSIGN, "--version"]))
            for name, kit in (("small", small), ("large", large)):
                root = ["--root", str(kit.root)]
                for cmd in (["agent", "status"], ["agent", "rollback", "--to", "1.1.0"]):
                    if cmd[1] == "rollback":  # alternate so every run switches
                        cmd = ["agent", "rollback", "--to", "1.0.0"]
                        _time([*NEBSIGN, *cmd, *root])
                        cmd = ["agent", "rollback", "--to", "1.1.0"]
                    key = f"{cmd[1]} {name}"
                    results.setdefault(key, []).append(_time([*NEBSIGN, *cmd, *root]))
        verify_large = _time([*NEBSIGN, "agent", "log", "verify", "--root", str(large.root)])
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"log of {args.entries + 3} entries, {size / 1e6:.1f} MB; medians of {args.runs} runs")
    print(f"  nebsign --version            {med['--version'] * 1000:7.0f} ms")
    for cmd in ("status", "rollback"):
        s, lg = med[f"{cmd} small"], med[f"{cmd} large"]
        print(
            f"  agent {cmd:<9} 100 entries {s * 1000:6.0f} ms | {args.entries} entries "
            f"{lg * 1000:6.0f} ms | large/small {lg / s:.2f}x | large/--version "
            f"{lg / med['--version']:.2f}x"
        )
    print(f"  agent log verify (full, every line) on the large log: {verify_large:.2f} s")


if __name__ == "__main__":
    main()
