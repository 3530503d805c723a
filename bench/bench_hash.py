#!/usr/bin/env python3
"""Hashing and manifest benchmarks (issue 2). Run by hand, not in CI:

    .venv/bin/python bench/bench_hash.py            # everything (needs ~15 GiB free disk)
    .venv/bin/python bench/bench_hash.py --only tree

Every ratio compares nebsign with a peer measured in the same run on the same
data; each timing is the median of several interleaved runs. Work files live
in bench/_work/ (git-ignored) and are reused between runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _timing import interleave, load, ratio, summary  # noqa: E402

WORK = HERE / "_work"
BIN = Path(sys.executable).parent
NEBSIGN = [str(BIN / "nebsign")]


def _bytecode_env() -> dict[str, str]:
    """Run nebsign with compiled bytecode, as an installed package would.

    This VM sets PYTHONDONTWRITEBYTECODE, which would recompile nebsign's
    source on every start (~30 ms) while the peers are compiled programs.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def sh(cmd: str, env: dict[str, str] | None = None) -> float:
    """Wall seconds of a shell pipeline (output discarded, failure fatal)."""
    start = time.perf_counter()
    subprocess.run(
        ["/bin/sh", "-c", cmd],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**_bytecode_env(), **(env or {})},
    )
    return time.perf_counter() - start


def median_interleaved(
    cmds: dict[str, str], runs: int, env: dict[str, dict[str, str]] | None = None
) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for key, cmd in cmds.items():
            times[key].append(sh(cmd, (env or {}).get(key)))
    return {k: statistics.median(v) for k, v in times.items()}


def openssl_limit() -> float:
    """Single-core SHA-256 bytes/s from `openssl speed` on 1 MiB blocks."""
    out = subprocess.run(
        ["openssl", "speed", "-evp", "sha256", "-bytes", "1048576", "-seconds", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.lower().startswith("sha256"))
    return float(re.findall(r"([\d.]+)k", line)[-1]) * 1000


def scaling() -> str:
    code = (
        "import time\nt=time.perf_counter()\nx=0\n"
        "for i in range(15_000_000): x+=i\nprint(time.perf_counter()-t)"
    )
    one = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    two = max(float(p.communicate()[0]) for p in procs)
    return (
        f"CPU scaling seen now: 2 processes ran {2 * one / two:.2f}x the work of 1 in the same time"
    )


def bench_big_file() -> None:
    path = WORK / "big.bin"
    size = 2 * 1024**3
    if not path.exists() or path.stat().st_size != size:
        block = os.urandom(1024 * 1024)
        with open(path, "wb") as fh:
            for _ in range(size // len(block)):
                fh.write(block)
    sh(f"cat {path} > /dev/null")  # into the page cache
    limit = openssl_limit()
    from nebsign.digest import sha256_file

    inproc = []
    for _ in range(3):
        t = time.perf_counter()
        sha256_file(path)
        inproc.append(time.perf_counter() - t)
    t = statistics.median(inproc)
    m = median_interleaved(
        {
            "nebsign hash": f"{NEBSIGN[0]} hash {path}",
            "openssl dgst": f"openssl dgst -sha256 {path}",
            "sha256sum": f"sha256sum {path}",
        },
        runs=3,
    )
    print("\n== one 2 GiB file in page cache ==")
    print(f"openssl speed limit (1 core): {limit / 1e9:.2f} GB/s")
    print(
        f"nebsign sha256_file:  {size / t / 1e9:.2f} GB/s = "
        f"{size / t / limit:.2f}x the limit (target >= 0.95)"
    )
    for k, v in m.items():
        print(f"{k:14} {size / v / 1e9:.2f} GB/s  ({v:.2f} s)")


def make_tree(root: Path, n: int = 100_000) -> None:
    if (root / ".done").exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    for d in range(n // 1000):
        sub = root / f"d{d:03}"
        sub.mkdir(parents=True)
        for f in range(1000):
            (sub / f"f{f:04}").write_bytes(os.urandom(4096))
    (root / ".done").write_bytes(b"")


def bench_tree(runs: int = 5, files: int = 100_000) -> None:
    root = WORK / ("tree" if files == 100_000 else f"tree{files}")
    make_tree(root, files)
    sh(f"find {root} -type f -print0 | xargs -0 cat > /dev/null")
    man = WORK / "tree.json"
    sums = WORK / "tree.sums"
    sh(f"cd {root} && find . -type f ! -name .done -print0 | xargs -0 sha256sum > {sums}")
    create = f"{NEBSIGN[0]} manifest create {root} -q --exclude .done -o {man}"
    verify = f"{NEBSIGN[0]} manifest verify {man} {root} -q --exclude .done"
    # "one core": both sides pinned to the same single CPU (taskset), so nebsign's two
    # hashing threads and sha256sum's one process get the same hardware
    one = "taskset -c 0 "
    cmds = {
        "nebsign create (2 CPUs)": create,
        "nebsign create (1 CPU)": one + create,
        "openssl xargs -P2": (
            f"find {root} -type f -print0 | xargs -0 -P2 -n 2000 openssl dgst -sha256"
        ),
        "xargs sha256sum": f"find {root} -type f -print0 | xargs -0 sha256sum",
        "xargs sha256sum (1 CPU)": f"{one}sh -c 'find {root} -type f -print0 | xargs -0 sha256sum'",
        "nebsign verify (2 CPUs)": verify,
        "nebsign verify (1 CPU)": one + verify,
        "sha256sum -c": f"cd {root} && sha256sum -c --quiet {sums}",
        "sha256sum -c (1 CPU)": f"cd {root} && {one}sha256sum -c --quiet {sums}",
    }
    t = interleave({k: functools.partial(sh, v) for k, v in cmds.items()}, runs)
    print(f"\n== {files:,} files of 4 KiB (page cache; {load()}) ==")
    print(scaling())
    for k, samples in t.items():
        print(f"{k:26} {summary(samples, 's')}")
    print(
        "create / openssl xargs -P2 = "
        f"{ratio(t['nebsign create (2 CPUs)'], t['openssl xargs -P2'])} (target <= 1.0)"
    )
    print(
        "xargs sha256sum / create (2 CPUs against one process) = "
        f"{ratio(t['xargs sha256sum'], t['nebsign create (2 CPUs)'])} (target >= 4)"
    )
    print(
        "xargs sha256sum / create, both on 1 CPU (single-thread) = "
        f"{ratio(t['xargs sha256sum (1 CPU)'], t['nebsign create (1 CPU)'])}"
    )
    print(
        "sha256sum -c / verify (2 CPUs against one process) = "
        f"{ratio(t['sha256sum -c'], t['nebsign verify (2 CPUs)'])} (target >= 4)"
    )
    print(
        "sha256sum -c / verify, both on 1 CPU (single-thread) = "
        f"{ratio(t['sha256sum -c (1 CPU)'], t['nebsign verify (1 CPU)'])}"
    )
    print(
        "C reference: sha256sum -c / openssl xargs -P2 = "
        f"{ratio(t['sha256sum -c'], t['openssl xargs -P2'])} (what OpenSSL's own C tool reaches)"
    )


def bench_memory() -> None:
    path = WORK / "sparse10g.bin"
    if not path.exists():
        with open(path, "wb") as fh:
            fh.truncate(10 * 1024**3)
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M %e", *NEBSIGN, "hash", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    rss_kib, secs = out.stderr.split()[-2:]
    print("\n== memory: hashing a 10 GiB (sparse) file ==")
    print(f"peak RSS {int(rss_kib) / 1024:.1f} MiB (target < 64 MiB), {float(secs):.1f} s")


def bench_startup() -> None:
    m = median_interleaved(
        {
            "nebsign --version": f"{NEBSIGN[0]} --version",
            "python -c 'import click'": f"{sys.executable} -c 'import click'",
        },
        runs=21,
    )
    print("\n== start-up ==")
    for k, t in m.items():
        print(f"{k:26} {t * 1000:.0f} ms")
    ratio = m["nebsign --version"] / m["python -c 'import click'"]
    print(f"nebsign --version / import click = {ratio:.2f}x (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["file", "tree", "memory", "startup"], action="append")
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (tree)")
    parser.add_argument("--files", type=int, default=100_000, help="files in the tree")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    sh(f"{NEBSIGN[0]} --version")  # warm-up: write the bytecode cache
    chosen = args.only or ["startup", "file", "tree", "memory"]
    for name in chosen:
        {
            "file": bench_big_file,
            "tree": functools.partial(bench_tree, args.runs, args.files),
            "memory": bench_memory,
            "startup": bench_startup,
        }[name]()


if __name__ == "__main__":
    main()
