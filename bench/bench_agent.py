"""Benchmarks for the on-host agent (run by hand: .venv/bin/python bench/bench_agent.py).

Both sides are processes started the same way, with the same ``sync`` before each
timed run and the same durability inside it:

1. Install a 1 GiB artifact: ``nebsign agent install REL --policy P`` (stage, verify
   signatures + attestation, hash, fsync, switch ``current``, audit line) against
   ``cp SRC DST && sync DST && openssl dgst -sha256 DST`` (copy, make it durable as the
   agent's fsync does, hash it). The peer without ``sync`` is printed too.
   Target: <= 1.15x the durable peer.
2. Roll back a 10,000-file release: ``nebsign agent rollback --to V --policy P`` (lock,
   recovery check, the re-check of every file against the stored manifest, symlink
   switch, fsync, audit line, state), against the shell doing the same check and switch:
   ``sha256sum --quiet -c`` of the release's files, then ``ln -s`` + ``mv -T`` of the
   ``current`` link and ``sync``. No target was set for the whole rollback; the issue's
   target (<= 100 ms) was for the switch alone, which is now timed with its re-check.

Rounds are interleaved (agent, peer, agent, ...); each row gives the median, the range,
the number of rounds and the range of the per-round ratios.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "agent"))

from _timing import interleave, load, ratio, summary, timed  # noqa: E402
from agentkit import ReleaseKit  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _big_file(path: Path, size: int) -> None:
    chunk = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(chunk))
            fh.write(chunk[:n])
            left -= n


def _synced(fn: Callable[[], float]) -> Callable[[], float]:
    """The same clean start for every timed run on both sides: nothing dirty to write back."""

    def run() -> float:
        os.sync()
        return fn()

    return run


def bench_install(work: Path, size: int, runs: int) -> None:
    src = work / "artifact.bin"
    _big_file(src, size)
    dst = work / "peer-copy.bin"
    peer_durable = ["sh", "-c", 'cp "$1" "$2" && sync "$2" && openssl dgst -sha256 "$2"', "sh"]
    peer_plain = ["sh", "-c", 'cp "$1" "$2" && openssl dgst -sha256 "$2"', "sh"]
    counter = [0]

    def agent() -> float:
        counter[0] += 1
        kit = ReleaseKit(work / f"kit-install-{counter[0]}")  # a fresh root: a real install
        rel = kit.build("1.0.0", {}, link_files={"artifact.bin": src})
        os.sync()
        argv = [str(BIN / "nebsign"), "agent", "install", str(rel), "--policy"]
        took = timed([*argv, str(kit.policy_path)], env=ENV)
        installed = kit.root / "current" / "payload" / "artifact.bin"
        assert installed.stat().st_size == size, "the agent did not install the artifact"
        shutil.rmtree(kit.base)
        return took

    def peer(argv: list[str]) -> float:
        took = timed([*argv, str(src), str(dst)])
        dst.unlink()
        return took

    t = interleave(
        {
            "agent": agent,  # syncs itself after building the release, right before timing
            "durable": _synced(functools.partial(peer, peer_durable)),
            "plain": _synced(functools.partial(peer, peer_plain)),
        },
        runs,
    )
    print(f"install of a {size / 2**30:.2f} GiB artifact ({load()}):")
    print(f"  nebsign agent install (process)        {summary(t['agent'], 's')}")
    print(f"  cp + sync FILE + openssl dgst -sha256  {summary(t['durable'], 's')}")
    print(f"  cp + openssl dgst -sha256 (no sync)    {summary(t['plain'], 's')}")
    print(f"  RATIO vs the durable peer: {ratio(t['agent'], t['durable'])} (target <= 1.15x)")
    print(f"  ratio vs the peer without sync: {ratio(t['agent'], t['plain'])}")


def _sha256sum_list(payload: Path, out: Path) -> None:
    lines = []
    for dirpath, _dirs, names in os.walk(payload):
        for name in sorted(names):
            path = Path(dirpath, name)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(payload).as_posix()}\n")
    out.write_text("".join(sorted(lines, key=lambda line: line[66:])))


def bench_rollback(work: Path, files: int, runs: int) -> None:
    kit = ReleaseKit(work / "kit-rollback")
    for version in ("1.0.0", "1.1.0"):
        payload = {
            f"d{i // 100:03d}/f{i:05d}.txt": f"{version} {i}\n".encode() for i in range(files)
        }
        t0 = time.perf_counter()
        argv = [str(BIN / "nebsign"), "agent", "install", str(kit.build(version, payload))]
        subprocess.run([*argv, "--policy", str(kit.policy_path)], check=True, env=ENV,
                       capture_output=True)  # fmt: skip
        print(f"  (setup: installed {version}, {files} files, in {time.perf_counter() - t0:.2f} s)")
    releases = kit.root / "releases"
    lists = {}
    for version in ("1.0.0", "1.1.0"):
        lists[version] = work / f"sums-{version}.txt"
        _sha256sum_list(releases / version / "payload", lists[version])
    step = [0]
    peer_step = [0]
    targets = ["1.1.0", "1.0.0"]  # 1.1.0 is current: the first run goes back to 1.0.0

    def agent() -> float:
        step[0] += 1
        argv = [str(BIN / "nebsign"), "agent", "rollback", "--to", targets[step[0] % 2]]
        took = timed([*argv, "--policy", str(kit.policy_path)], env=ENV)
        current = os.readlink(kit.root / "current")
        assert current.endswith(targets[step[0] % 2]), current
        return took

    # the shell doing the same: check every file of the target, then switch the link
    # atomically (a new link renamed over `current`) and make it durable
    script = (
        'cd "$1/payload" && sha256sum --quiet --strict -c "$2" && '
        'ln -s "$3" "$4/current.new" && mv -T "$4/current.new" "$4/current" && sync "$4"'
    )
    peer_root = work / "peer-root"
    peer_root.mkdir()

    def peer() -> float:
        peer_step[0] += 1
        version = targets[peer_step[0] % 2]
        rdir = releases / version
        return timed(["sh", "-c", script, "sh", str(rdir), str(lists[version]), str(rdir),
                      str(peer_root)])  # fmt: skip

    version = functools.partial(timed, [str(BIN / "nebsign"), "--version"], env=ENV)
    t = interleave({"agent": _synced(agent), "peer": _synced(peer), "start": version}, runs)
    print(f"rollback of a {files}-file release, re-check included ({load()}):")
    print(f"  nebsign agent rollback (process)            {summary(t['agent'])}")
    print(f"  sha256sum -c + ln -s + mv -T + sync (shell)  {summary(t['peer'])}")
    print(f"  nebsign --version (start-up floor)          {summary(t['start'])}")
    print(f"  RATIO {ratio(t['agent'], t['peer'])}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--dir", default=None, help="scratch directory (same filesystem as /var)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nebsign-bench-agent-", dir=args.dir) as tmp:
        work = Path(tmp)
        if args.files:
            bench_rollback(work, args.files, args.runs)
        if args.size_mib:
            bench_install(work, args.size_mib * 1024 * 1024, args.runs)


if __name__ == "__main__":
    main()
