"""Audit benchmark: import, coverage check and Slither scan, each against a peer or a floor.

Run by hand (not a test):  .venv/bin/python bench/bench_audit.py [--rounds N] [--only NAME]

* import: a 10,000-finding Slither JSON (the ten detectors of
  tests/audit/data/slither-bank.json spread over 1,000 contracts) through the
  Slither importer in-process, against `json.loads` of the same bytes (the
  parse floor), and `nebsign audit import` as a process (target <= 1 s);
* check: `check_release` + `judge` for a 10,000-file manifest (5,000 under
  contracts/, all in an audit's scope, 100 drifted), in-process and as
  `nebsign audit check` (target <= 0.2 s for the check);
* scan: `nebsign audit scan contracts/` against `slither contracts/
  --solc-standard-json --solc <the same wrapper>` on the example contracts
  (the wrapper nebsign adds must cost <= 10%).

Medians of N interleaved rounds; ratios use timings from this run only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = {**os.environ}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
sys.path.insert(0, str(REPO))


#: CPU seconds (user + sys) of the last timed() child: on a loaded machine the
#: wall clock mostly measures the queue, CPU time the work
LAST_CPU = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> float:
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    LAST_CPU[0] = _children_cpu() - cpu
    if proc.returncode not in ok:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def median_of(rounds: int, fn) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(fn() for _ in range(rounds))


def slither_doc(n: int) -> bytes:
    base = json.loads((REPO / "tests/audit/data/slither-bank.json").read_text())
    detectors = base["results"]["detectors"]
    out = []
    for i in range(n):
        det = json.loads(json.dumps(detectors[i % len(detectors)]))
        contract = f"contracts/c{i // len(detectors):04d}/Bank.sol"
        text = json.dumps(det).replace("contracts/Bank.sol", contract)
        out.append(json.loads(text))
    return json.dumps({"success": True, "error": None, "results": {"detectors": out}}).encode()


def bench_import(rounds: int, work: Path) -> None:
    from nebsign.audit.importers.slither import SlitherImporter

    raw = slither_doc(10_000)
    path = work / "slither-10k.json"
    path.write_bytes(raw)

    def parse() -> float:
        start = time.process_time()
        audit = SlitherImporter().parse(raw, "bench")
        assert len(audit.findings) == 10_000
        return time.process_time() - start

    def floor() -> float:
        start = time.process_time()
        json.loads(raw)
        return time.process_time() - start

    cli = [str(BIN / "nebsign"), "audit", "import", str(path), "--format", "json"]
    text = [*cli[:-2], "--format", "text"]
    results: dict[str, list[float]] = {k: [] for k in ("parse", "floor", "cli", "cpu", "text")}
    for _ in range(rounds):
        results["floor"].append(floor())
        results["parse"].append(parse())
        results["cli"].append(timed(cli, work))
        results["cpu"].append(LAST_CPU[0])
        timed(text, work)
        results["text"].append(LAST_CPU[0])
    p, f, c, u, t = (
        statistics.median(results[k]) for k in ("parse", "floor", "cli", "cpu", "text")
    )
    print(f"import 10,000-finding Slither JSON ({len(raw) / 1e6:.1f} MB), CPU seconds")
    print(f"  json.loads (floor)        {f:.3f} s")
    print(f"  importer, in-process      {p:.3f} s  ({p / f:.1f}x the floor)")
    print(
        f"  nebsign audit import      {u:.3f} s CPU --format json ({c:.3f} s wall), "
        f"{t:.3f} s CPU text (target <= 1 s)"
    )


def bench_check(rounds: int, work: Path) -> None:
    from nebsign.audit.check import check_release, judge
    from nebsign.audit.model import Audit, ScopeEntry
    from nebsign.audit.policy import AuditPolicy
    from nebsign.manifest import FileEntry, Manifest

    files = []
    scope = []
    for i in range(10_000):
        under = "contracts" if i % 2 == 0 else "app"
        path = f"{under}/m{i // 100:03d}/f{i:05d}.sol"
        digest = f"{i:064x}"
        files.append(FileEntry(path, 100, digest))
        if under == "contracts":
            audited = digest if i % 100 else f"{i + 1:064x}"  # 100 drifted
            scope.append(ScopeEntry(path, "sha256", audited))
    manifest = Manifest(files=tuple(sorted(files, key=lambda e: e.path)))
    audit = Audit(kind="nebsign", auditor="bench", findings=(), scope=tuple(scope))
    policy = AuditPolicy.from_toml(b'[audit]\nrequired = ["contracts/**", "chain/**"]\n')
    man_path = work / "release.json"
    man_path.write_bytes(manifest.to_json())
    doc = {
        "schema": "https://nebsign.dev/schemas/audit-file/v1",
        "auditor": "bench",
        "report": {"title": "bench", "url": "https://example.com/r"},
        "scope": [s.to_dict() for s in scope],
        "findings": [],
    }
    audit_path = work / "audit.json"
    audit_path.write_text(json.dumps(doc))

    def check() -> float:
        start = time.perf_counter()
        cov = check_release(manifest, [audit], policy)
        judge([audit], policy, cov)
        assert len(cov.drifted) == 100 and len(cov.covered) == 4900
        return time.perf_counter() - start

    cli = [str(BIN / "nebsign"), "audit", "check", "--manifest", str(man_path), str(audit_path)]
    version = [str(BIN / "nebsign"), "--version"]
    results: dict[str, list[float]] = {k: [] for k in ("check", "cli", "version")}
    for _ in range(rounds):
        results["check"].append(check())
        timed(cli, work)
        results["cli"].append(LAST_CPU[0])
        timed(version, work)
        results["version"].append(LAST_CPU[0])
    k, c, v = (statistics.median(results[x]) for x in ("check", "cli", "version"))
    print("audit check, 10,000-file manifest (5,000 required, 100 drifted)")
    print(f"  check_release + judge     {k * 1000:.1f} ms wall  (target <= 200 ms)")
    print(f"  nebsign audit check       {c:.3f} s CPU (nebsign --version {v:.3f} s CPU)")


def bench_scan(rounds: int, work: Path) -> None:
    from nebsign.audit.scan import find_tools

    tools = find_tools()
    root = work / "scan"
    shutil.copytree(REPO / "examples" / "release" / "contracts", root / "contracts")
    wrapper = work / "solc"
    script = REPO / "nebsign" / "audit" / "solcjs.js"
    wrapper.write_text(f'#!/bin/sh\nexec "{tools.node}" "{script}" "$@"\n')
    wrapper.chmod(0o700)
    ENV["NEBSIGN_SOLCJS_DIR"] = str(tools.solcjs_dir)
    out = work / "direct.json"

    def direct() -> float:
        out.unlink(missing_ok=True)
        argv = [tools.slither, "contracts", "--solc-standard-json", "--solc", str(wrapper)]
        return timed([*argv, "--json", str(out)], root, ok=(0, 255))

    nebsign = [str(BIN / "nebsign"), "audit", "scan", "contracts", "--format", "json"]
    results: dict[str, list[float]] = {k: [] for k in ("direct", "nebsign", "dcpu", "ncpu")}
    for _ in range(rounds):
        results["direct"].append(direct())
        results["dcpu"].append(LAST_CPU[0])
        results["nebsign"].append(timed(nebsign, root))
        results["ncpu"].append(LAST_CPU[0])
    d, n, dc, nc = (statistics.median(results[k]) for k in ("direct", "nebsign", "dcpu", "ncpu"))
    print("audit scan of the example contracts (Slither + solc-js)")
    print(f"  slither directly          {d:.3f} s wall, {dc:.3f} s CPU")
    print(
        f"  nebsign audit scan        {n:.3f} s wall, {nc:.3f} s CPU "
        f"({(n / d - 1) * 100:+.1f}% wall, {(nc / dc - 1) * 100:+.1f}% CPU; target <= +10%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["import", "check", "scan"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nebsign-bench-audit-") as tmp:
        work = Path(tmp)
        for name, fn in (("import", bench_import), ("check", bench_check), ("scan", bench_scan)):
            if args.only in (None, name):
                fn(args.rounds, work)


if __name__ == "__main__":
    main()
