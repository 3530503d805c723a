"""SAST benchmark: `nebsign scan sast` against running bandit then semgrep directly.

Run by hand (not a test):  .venv/bin/python bench/bench_sast.py [PACKAGE] [--rounds N]

On a copy of an installed package's source (default: setuptools, ~61k lines),
in one run, it measures:

* "as users run the tools": `bandit -c policies/bandit.yaml -r DIR` then `semgrep
  scan --config <each nebsign rule file> DIR` (the default Python launcher), one after
  the other, against `nebsign scan sast` with its default `-j` (all cores);
* "same engine, same cores": bandit and semgrep's native engine (`semgrep
  --experimental`, as nebsign runs it) started side by side, one process each, with
  the exact command lines nebsign's scanners build (`Scanner.argv`), against
  `nebsign scan sast -j 1` (also one bandit and one semgrep process side by side);
* before timing, both sides must have scanned the same files and found the same
  (tool, rule, path, line) set: nebsign's open, merged (`also_reported_by`) and
  suppressed findings against the peers' raw results. Inline suppressions are off on
  the peer side (`--ignore-nosec`, `--disable-nosem`: nebsign applies its own after the
  scan, so it reports what they silenced) and an empty `.semgrepignore` keeps
  semgrep's default ignore list (tests/ ...) from skipping files nebsign scans;
* nebsign cold (empty cache) with -j 1 and -j 2 (the 1-vs-2 process scaling);
* nebsign re-scan after changing one file (warm cache), against its cold scan;
* `nebsign scan sast --staged` with one staged (changed, so uncached) file.

Cold timings are medians of N interleaved rounds (each side in turn, repeat) with the
range of the per-round ratios; re-scan and --staged are the best of N. Ratios use
timings from this run only.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _timing import interleave, ratio, summary  # noqa: E402

from nebsign.sast.bandit import BanditScanner  # noqa: E402
from nebsign.sast.semgrep import SemgrepEngine, SemgrepScanner  # noqa: E402

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


def _peer_results(work: Path, argv: list[str]) -> tuple[set[str], set[tuple[str, str, str, int]]]:
    """(files scanned, (tool, rule, path, line) found) of one bandit or semgrep JSON run."""
    proc = subprocess.run(argv, cwd=work, env=ENV, capture_output=True, check=False)
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    doc = json.loads(proc.stdout)
    if "metrics" in doc:  # bandit
        files = {os.path.normpath(f) for f in doc["metrics"] if f != "_totals"}
        found = {("bandit", r["test_id"], os.path.normpath(r["filename"]), r["line_number"])
                 for r in doc["results"]}  # fmt: skip
    else:  # semgrep: rule ids carry the config file's path as a dotted prefix
        files = {os.path.normpath(f) for f in doc["paths"]["scanned"]}
        found = {("semgrep", r["check_id"].rsplit(".", 1)[-1], os.path.normpath(r["path"]),
                  r["start"]["line"]) for r in doc["results"]}  # fmt: skip
    return files, found


def check_same_results(
    work: Path, users: list[list[str]], same_engine: list[list[str]], nebsign: list[str]
) -> None:
    """Both peers and nebsign scanned the same files and found the same things, or exit."""
    proc = subprocess.run([*nebsign, "--no-cache"], cwd=work, env=ENV, capture_output=True)
    doc = json.loads(proc.stdout)
    ours_files = set(doc["scanned"])
    ours: set[tuple[str, str, str, int]] = set()
    for f in doc["findings"]:
        path, line = f["location"]["path"], f["location"]["line"]
        if f["tool"] in ("bandit", "semgrep"):
            ours.add((f["tool"], f["rule_id"], path, line))
        for other in f["properties"].get("also_reported_by", []):
            ours.add((other["tool"], other["rule_id"], path, line))
    for s in doc["suppressed"]:
        ours.add((s["tool"], s["rule_id"], s["path"], s["line"]))
    # nebsign's policy drops rules set to IGNORE from all output (policies/default.toml);
    # the peers report them: leave them out of the peers' set, and say how many
    import tomllib

    levels = tomllib.loads((POLICIES / "default.toml").read_text())["sast"].get("rules", {})
    ignored = {rule for rule, level in levels.items() if level == "IGNORE"}
    for name, argvs in (("as users run them", users), ("same engine", same_engine)):
        files: set[str] = set()
        found: set[tuple[str, str, str, int]] = set()
        for argv in argvs:
            f, r = _peer_results(work, argv)
            files |= f
            found |= r
        dropped = {hit for hit in found if hit[1] in ignored}
        found -= dropped
        if dropped:
            print(f"  ({len(dropped)} peer findings of rules the policy ignores left out: "
                  f"{sorted({hit[1] for hit in dropped})})")  # fmt: skip
        if files != ours_files or found != ours:
            sys.exit(
                f"peer ({name}) and nebsign differ: files only peer "
                f"{sorted(files - ours_files)[:5]}, only nebsign {sorted(ours_files - files)[:5]};"
                " findings only peer "
                f"{sorted(found - ours)[:5]}, only nebsign {sorted(ours - found)[:5]}"
            )
        print(f"same work ({name}): {len(files)} files, {len(found)} findings, equal sets")


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
        (work / ".semgrepignore").write_text("")  # no default ignore list: scan what nebsign does
        bandit = [str(BIN / "bandit"), "-c", str(POLICIES / "bandit.yaml"), "-r", args.package,
                  "-f", "json", "-q", "--ignore-nosec", "--exclude", ""]  # fmt: skip
        semgrep = [str(BIN / "semgrep"), "scan", *config, "--json", "--metrics=off",
                   "--disable-nosem", "--max-target-bytes=0", args.package]  # fmt: skip
        files = sorted(p.relative_to(work).as_posix() for p in tree.rglob("*.py"))
        same_engine = [
            BanditScanner(POLICIES / "bandit.yaml").argv(files),
            SemgrepScanner(POLICIES / "semgrep", engine=SemgrepEngine.NATIVE).argv(files),
        ]
        nebsign = [str(BIN / "nebsign"), "scan", "sast", "-q", "--format", "json", args.package]

        check_same_results(work, [bandit, semgrep], same_engine, nebsign)

        def users() -> float:
            return run(bandit, work) + run(semgrep, work)

        def side_by_side() -> float:
            start = time.perf_counter()
            procs = [subprocess.Popen(a, cwd=work, env=ENV, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for a in same_engine]  # fmt: skip
            codes = [p.wait() for p in procs]
            if any(c not in (0, 1) for c in codes):
                sys.exit(f"peer failed: {codes}")
            return time.perf_counter() - start

        def cold(jobs: int | None) -> float:
            cache = work / f"cache-cold-{jobs}"
            shutil.rmtree(cache, ignore_errors=True)
            jflag = [] if jobs is None else ["-j", str(jobs)]
            return run([*nebsign, "--cache", str(cache), *jflag], work)

        # interleaved rounds: a load spike from elsewhere hits peer and nebsign alike
        t = interleave(
            {
                "users": users,
                "default": functools.partial(cold, None),
                "same": side_by_side,
                "j1": functools.partial(cold, 1),
                "j2": functools.partial(cold, 2),
            },
            args.rounds,
        )
        t_cold2 = statistics.median(t["default"])
        print(f"peer as users run it: bandit -r, then semgrep scan  {summary(t['users'], 's')}")
        print(f"nebsign scan sast (default -j, all cores)           {summary(t['default'], 's')}")
        print(f"peer same engine: bandit + semgrep --experimental   {summary(t['same'], 's')}")
        print(f"nebsign scan sast -j 1 (one process per tool)       {summary(t['j1'], 's')}")
        print(f"nebsign scan sast -j 2                              {summary(t['j2'], 's')}")
        print(f"RATIO as users run the tools: {ratio(t['default'], t['users'])}   (target <= 0.6)")
        print(f"RATIO same engine, same cores (-j 1): {ratio(t['j1'], t['same'])}")
        print(f"1-vs-2 process scaling: {ratio(t['j1'], t['j2'])}")

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
