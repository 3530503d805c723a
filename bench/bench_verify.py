#!/usr/bin/env python3
"""Signature verification benchmarks (issue 3). Run by hand, not in CI:

    .venv/bin/python bench/bench_verify.py                  # everything
    .venv/bin/python bench/bench_verify.py --only inproc    # inproc | cli | manifest

* inproc: parse + verify of key-based Ed25519 bundles in-process, against the
  raw ``Ed25519PublicKey.verify`` rate of cryptography (target >= 0.8x).
* cli: ``nebsign verify`` of one key-based bundle as a process, against
  ``sigstore verify identity --offline`` of a keyless bundle (target <= 0.25x).
* manifest: ``nebsign verify --manifest`` of a signed 100,000-file manifest,
  against ``nebsign manifest verify`` alone (target <= 1.1x).

Every ratio is measured in the same run; timings are medians (or best-of) of
interleaved runs. Work files live in bench/_work/verify/ (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work" / "verify"
BIN = Path(sys.executable).parent
SIGSTORE_DATA = REPO.parent / "shared" / "testdata" / "sigstore"


# Like an installed package, every command runs with compiled bytecode: the
# environment may set PYTHONDONTWRITEBYTECODE (then nebsign, run from source,
# would be recompiled on every start while sigstore's installed .pyc are used),
# so bytecode goes to a private cache that a warm-up run fills for both sides.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")


def run_cmd(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def interleaved(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for argv in cmds.values():
        run_cmd(argv)  # warm-up: bytecode cache, page cache
    for _ in range(runs):
        for key, argv in cmds.items():
            times[key].append(run_cmd(argv))
    return {k: statistics.median(v) for k, v in times.items()}


def bench_inproc(n: int = 4000, rounds: int = 5) -> float:
    from nebsign.bundle import Bundle
    from nebsign.keys import generate_key
    from nebsign.policy.trust import TrustPolicy
    from nebsign.signing import sign_digest
    from nebsign.verify import verify_artifact

    key = generate_key()
    public = key.public_key()
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]
    raws = [sign_digest(d, key).to_json() for d in digests]
    sigs = [Bundle.from_json(r).content.signature for r in raws]
    policy = TrustPolicy.from_keys([public])

    # Fine-grained interleaving: alternate small chunks of each so both see the
    # same background load (other processes on the machine), then compare totals.
    chunk = 100
    raw_time = neb_time = 0.0
    for _ in range(rounds):
        for lo in range(0, n, chunk):
            ds, ss, rs = digests[lo : lo + chunk], sigs[lo : lo + chunk], raws[lo : lo + chunk]
            start = time.perf_counter()
            for d, s in zip(ds, ss, strict=True):
                public.verify(s, bytes.fromhex(d))
            mid = time.perf_counter()
            for d, r in zip(ds, rs, strict=True):
                verify_artifact(d, [Bundle.from_json(r)], policy)
            raw_time += mid - start
            neb_time += time.perf_counter() - mid
    total = n * rounds
    ratio = raw_time / neb_time
    print(
        f"inproc: raw Ed25519PublicKey.verify {total / raw_time:,.0f}/s, nebsign parse+verify "
        f"{total / neb_time:,.0f}/s -> ratio {ratio:.2f} (target >= 0.80)"
    )
    return ratio


def _fixture_keybundle() -> tuple[Path, Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    art = WORK / "one.bin"
    art.write_bytes(os.urandom(4096))
    key = WORK / "bench"
    if not Path(f"{key}.key").exists():
        subprocess.run([str(BIN / "nebsign"), "key", "generate", "-o", str(key),
                        "--no-passphrase"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([str(BIN / "nebsign"), "sign", str(art), "--key", f"{key}.key"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return art, Path(f"{art}.sigstore.json"), Path(f"{key}.pub")


def bench_cli(runs: int = 15) -> float:
    art, bundle, pub = _fixture_keybundle()
    whl = SIGSTORE_DATA / "bundle_v3_github.whl"
    identity = (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )
    cmds = {
        "nebsign": [str(BIN / "nebsign"), "verify", str(art), "--bundle", str(bundle),
                    "--key", str(pub)],
        "sigstore": [str(BIN / "sigstore"), "verify", "identity", "--offline",
                     "--bundle", f"{whl}.sigstore", "--cert-identity", identity,
                     "--cert-oidc-issuer", "https://token.actions.githubusercontent.com",
                     str(whl)],
        "nebsign-keyless": [str(BIN / "nebsign"), "verify", str(whl), "--bundle",
                            f"{whl}.sigstore", "--cert-identity", identity, "--cert-oidc-issuer",
                            "https://token.actions.githubusercontent.com"],
    }  # fmt: skip
    t = interleaved(cmds, runs)
    ratio = t["nebsign"] / t["sigstore"]
    print(
        f"cli: nebsign verify (key) {t['nebsign'] * 1000:.0f} ms, sigstore verify identity "
        f"--offline {t['sigstore'] * 1000:.0f} ms -> ratio {ratio:.2f} (target <= 0.25); "
        f"nebsign verify (keyless, same bundle) {t['nebsign-keyless'] * 1000:.0f} ms"
    )
    return ratio


def bench_manifest(files: int = 100_000, runs: int = 7) -> float:
    tree = WORK / f"tree{files}"
    if not (tree / ".complete").exists():
        shutil.rmtree(tree, ignore_errors=True)
        for i in range(files):
            sub = tree / f"d{i // 1000:03d}"
            if i % 1000 == 0:
                sub.mkdir(parents=True)
            (sub / f"f{i:06d}.txt").write_bytes(b"file %d\n" % i)
        (tree / ".complete").write_bytes(b"")
    manifest = WORK / f"release{files}.json"
    neb = str(BIN / "nebsign")
    subprocess.run([neb, "manifest", "create", str(tree), "-o", str(manifest), "-q"], check=True)
    _, _, pub = _fixture_keybundle()
    subprocess.run([neb, "sign", str(manifest), "--key", str(WORK / "bench.key")],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    cmds = {
        "manifest": [neb, "manifest", "verify", str(manifest), str(tree), "-q"],
        "signed": [neb, "verify", str(manifest), "--manifest", "--root", str(tree),
                   "--key", str(pub), "-q"],
    }  # fmt: skip
    t = interleaved(cmds, runs)
    ratio = t["signed"] / t["manifest"]
    print(
        f"manifest ({files:,} files): nebsign manifest verify {t['manifest']:.2f} s, "
        f"nebsign verify --manifest {t['signed']:.2f} s -> ratio {ratio:.2f} (target <= 1.10)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["inproc", "cli", "manifest"])
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.only in (None, "inproc"):
        bench_inproc()
    if args.only in (None, "cli"):
        bench_cli()
    if args.only in (None, "manifest"):
        bench_manifest()


if __name__ == "__main__":
    main()
