"""SAST benchmark: `nebsign scan sast` against running bandit then semgrep directly.

Run by hand (not a test):  .venv/bin/python bench/bench_sast.py [PACKAGE] [--rounds N]

On a copy of an installed package's source (default: setuptools, ~61k lines),
in one run, it measures:

* peer: `bandit -c policies/bandit.yaml -r DIR` then `semgrep scan --config
  <each nebsign rule file> DIR` (the default Python launcher), sequentially,
  same rules, version check and metrics off (not scanning work);
* nebsign cold (empty cache) with -j 1 and -j 2 (the 1-vs-2 process scaling);
* nebsign re-scan after changing one file (warm cache), against its cold scan;
* `nebsign scan sast --staged` with one staged (changed, so uncached) file.

Cold timings are medians of N interleaved rounds (peer, -j 1, -j 2, repeat);
re-scan and --staged are the best of N. Ratios use timings from this run only.
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

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POLICIES = REPO / "policies"
ENV = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
# An installed nebsign has compiled bytecode, like bandit and semgrep in site-packages;
# a checkout run with PYTHONDONTWRITEBYTECODE=1 would recompile nebsign on every start.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def run(argv: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def best(rounds: int, fn) -> float:
    return min(fn() for _ in range(rounds))


def python_lines(root: Path) -> tuple[int, int]:
    files = list(root.rglob("*.py"))
    return len(files), sum(len(p.read_bytes().splitlines()) for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", default="setuptools")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    source = site / args.package
    work = Path(tempfile.mkdtemp(prefix="nebsign-bench-sast-"))
    try:
        tree = work / args.package
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns("__pycache__"))
        nfiles, nlines = python_lines(tree)
        ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        first = sorted(tree.rglob("*.py"))[0].relative_to(work)
        run([str(BIN / "nebsign"), "scan", "sast", "--no-cache", str(first)], work)  # warm-up
        print(
            f"codebase: {args.package} ({nfiles} files, {nlines} Python lines), cores: "
            f"{len(os.sched_getaffinity(0))}, load avg {os.getloadavg()[0]:.1f}"
        )
        rules = sorted((POLICIES / "semgrep").glob("*.yaml"))
        config = [a for r in rules for a in ("--config", str(r))]
        bandit = [
            str(BIN / "bandit"),
            "-c",
            str(POLICIES / "bandit.yaml"),
            "-r",
            args.package,
            "-f",
            "json",
            "-q",
        ]
        semgrep = [str(BIN / "semgrep"), "scan", *config, "--json", "--metrics=off", args.package]

        def peer() -> float:
            return run(bandit, work) + run(semgrep, work)

        nebsign = [str(BIN / "nebsign"), "scan", "sast", "-q", "--format", "json", args.package]

        def cold(jobs: int) -> float:
            cache = work / f"cache-cold-{jobs}"
            shutil.rmtree(cache, ignore_errors=True)
            return run([*nebsign, "--cache", str(cache), "-j", str(jobs)], work)

        # interleaved rounds: a load spike from elsewhere hits peer and nebsign alike
        peers, cold1s, cold2s = [], [], []
        for _ in range(args.rounds):
            peers.append(peer())
            cold1s.append(cold(1))
            cold2s.append(cold(2))
        t_peer, t_cold1, t_cold2 = (statistics.median(x) for x in (peers, cold1s, cold2s))
        ratios = sorted(c / q for c, q in zip(cold2s, peers, strict=True))
        print(f"peer: bandit then semgrep (python launcher) {t_peer:7.2f} s")
        print(f"nebsign cold, -j 1                         {t_cold1:7.2f} s")
        print(
            f"nebsign cold, -j 2                         {t_cold2:7.2f} s"
            f"   1-vs-2 process scaling: {t_cold1 / t_cold2:.2f}x"
        )
        print(
            f"RATIO cold (-j 2) / peer: {t_cold2 / t_peer:.2f} (medians; per round "
            f"{', '.join(f'{r:.2f}' for r in ratios)})   (target <= 0.6)"
        )
        print(f"RATIO cold (-j 1) / peer: {t_cold1 / t_peer:.2f}")

        warm_cache = work / "cache-warm"
        run([*nebsign, "--cache", str(warm_cache)], work)
        files = sorted(tree.rglob("*.py"))
        target = files[len(files) // 2]
        counter = [0]

        def rescan() -> float:
            counter[0] += 1
            with target.open("a") as fh:
                fh.write(f"\n# edit {counter[0]}\n")
            return run([*nebsign, "--cache", str(warm_cache)], work)

        t_rescan = best(args.rounds, rescan)
        print(
            f"re-scan after changing one file            {t_rescan:7.2f} s"
            f"   RATIO vs cold: {t_rescan / t_cold2:.3f}   (target <= 0.1)"
        )

        git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
        subprocess.run([*git, "init", "-q"], cwd=work, check=True)
        subprocess.run([*git, "add", args.package], cwd=work, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=work, check=True)
        staged_cmd = [
            str(BIN / "nebsign"),
            "scan",
            "sast",
            "--staged",
            "-q",
            "--cache",
            str(warm_cache),
        ]

        def staged() -> float:
            counter[0] += 1
            with target.open("a") as fh:
                fh.write(f"\n# staged edit {counter[0]}\n")
            subprocess.run(["git", "add", str(target)], cwd=work, check=True)
            return run(staged_cmd, work)

        t_staged = best(max(3, args.rounds), staged)
        print(f"--staged, one staged changed file          {t_staged:7.2f} s   (target < 1 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
