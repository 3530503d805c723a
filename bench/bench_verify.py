#!/usr/bin/env python3
"""Signature verification benchmarks (issue 3). Run by hand, not in CI:

    .venv/bin/python bench/bench_verify.py                  # everything
    .venv/bin/python bench/bench_verify.py --only inproc    # inproc | cli | manifest

* inproc: parse + verify of key-based Ed25519 bundles in-process, against the
  raw ``Ed25519PublicKey.verify`` rate of cryptography (target >= 0.8x).
* cli: ``nebsign verify`` as a process, the same work on both sides: key-based
  (ECDSA P-256, one 4 KiB artifact) against sigstore-js's ``@sigstore/verify`` (npm;
  the fastest peer found that verifies key-based Sigstore bundles; sigstore-python and
  the ``sigstore`` CLI verify keyless bundles only), and keyless against
  ``sigstore verify identity --offline`` on the same wheel and bundle. Each side must
  accept the good input and refuse a tampered one before it is timed.
* manifest: ``nebsign verify --manifest`` of a signed 100,000-file manifest,
  against ``nebsign manifest verify`` alone (target <= 1.1x).

Every ratio is measured in the same run; timings are medians (or best-of) of
interleaved runs. Work files live in bench/_work/verify/ (git-ignored).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work" / "verify"
BIN = Path(sys.executable).parent
SHARED = Path(os.environ.get("NEBSIGN_SHARED") or REPO.parent / "shared")
SIGSTORE_DATA = SHARED / "testdata" / "sigstore"

sys.path.insert(0, str(HERE))
from _timing import interleave, load, ratio, summary, timed  # noqa: E402

# Like an installed package, every command runs with compiled bytecode: the
# environment may set PYTHONDONTWRITEBYTECODE (then nebsign, run from source,
# would be recompiled on every start while sigstore's installed .pyc are used),
# so bytecode goes to a private cache that a warm-up run fills for both sides.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")


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


def _fixture_keybundle(kind: str = "ed25519") -> tuple[Path, Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    art = WORK / "one.bin"
    if not art.exists():
        art.write_bytes(os.urandom(4096))
    key = WORK / ("bench" if kind == "ed25519" else f"bench-{kind}")
    if not Path(f"{key}.key").exists():
        subprocess.run([str(BIN / "nebsign"), "key", "generate", "-o", str(key), "--type", kind,
                        "--no-passphrase"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    bundle = WORK / f"one.bin.{kind}.sigstore.json"
    subprocess.run([str(BIN / "nebsign"), "sign", str(art), "--key", f"{key}.key",
                    "-o", str(bundle)], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return art, bundle, Path(f"{key}.pub")


# -- the key-based peer: sigstore-js (@sigstore/verify from npm) ----------------------
NODE_DIR = WORK / "node"
NODE_PACKAGES = ["@sigstore/verify@4.1.3", "@sigstore/bundle@5.0.1"]
ENV["NODE_PATH"] = str(NODE_DIR / "node_modules")


def _sigstore_js() -> list[str]:
    """``node bench/sigstore_js_verify.js``, installing @sigstore/verify with npm if missing."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("the key-based peer needs node and npm (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "@sigstore" / "verify").is_dir():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
                        "--silent", *NODE_PACKAGES], check=True)  # fmt: skip
    return [node, str(HERE / "sigstore_js_verify.js")]


def _standard_bundle(art: Path, nebsign_bundle: Path, key: Path) -> Path:
    """The same artifact signed by the same ECDSA P-256 key in the form sigstore-js checks.

    A Sigstore messageSignature is ECDSA-SHA256 over the artifact; nebsign signs the
    32 digest bytes instead (ADR 0006), which no peer verifies. Same key, same hint,
    same digest, same bundle shape: the peer does the same work on its own form.
    """
    import base64
    import json

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    digest = hashlib.sha256(art.read_bytes()).digest()
    signature = private.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    doc = json.loads(nebsign_bundle.read_bytes())
    doc["messageSignature"]["signature"] = base64.b64encode(signature).decode()
    out = WORK / "one.bin.standard.sigstore.json"
    out.write_text(json.dumps(doc))
    return out


def _must(argv: list[str], code: int) -> None:
    """Correctness gate: a side that does not accept the good input or refuse the bad one
    is not doing the work it is timed for."""
    got = subprocess.run(argv, env=ENV, capture_output=True, check=False).returncode
    if (got == 0) != (code == 0):
        raise SystemExit(f"{argv[:3]}... exited {got}, expected {code}: not the same work")


def bench_cli(runs: int = 15) -> None:
    """Key-based against the fastest key-based peer; keyless against keyless (same bundle)."""
    neb = str(BIN / "nebsign")
    art, ed_bundle, ed_pub = _fixture_keybundle("ed25519")
    _, ec_bundle, ec_pub = _fixture_keybundle("ecdsa-p256")
    peer_bundle = _standard_bundle(art, ec_bundle, WORK / "bench-ecdsa-p256.key")
    node = _sigstore_js()
    tampered = WORK / "tampered.bin"
    tampered.write_bytes(bytes([art.read_bytes()[0] ^ 1]) + art.read_bytes()[1:])
    verify = [neb, "verify", str(art), "--bundle"]
    key_cmds = {
        "nebsign-ecdsa": [*verify, str(ec_bundle), "--key", str(ec_pub)],
        "sigstore-js-ecdsa": [*node, str(art), str(peer_bundle), str(ec_pub)],
        "nebsign-ed25519": [*verify, str(ed_bundle), "--key", str(ed_pub)],
    }
    for argv in key_cmds.values():
        _must(argv, 0)
        _must([tampered.as_posix() if a == str(art) else a for a in argv], 1)

    whl = SIGSTORE_DATA / "bundle_v3_github.whl"
    identity = (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )
    issuer = "https://token.actions.githubusercontent.com"
    keyless_cmds = {
        "nebsign-keyless": [neb, "verify", str(whl), "--bundle", f"{whl}.sigstore",
                            "--cert-identity", identity, "--cert-oidc-issuer", issuer],
        "sigstore-keyless": [str(BIN / "sigstore"), "verify", "identity", "--offline",
                             "--bundle", f"{whl}.sigstore", "--cert-identity", identity,
                             "--cert-oidc-issuer", issuer, str(whl)],
    }  # fmt: skip
    for argv in keyless_cmds.values():
        _must(argv, 0)
        _must([a.replace(identity, identity + "x") for a in argv], 1)  # wrong identity

    cmds = {**key_cmds, **keyless_cmds}
    t = interleave({k: functools.partial(timed, v, env=ENV) for k, v in cmds.items()}, runs)
    print(f"cli ({load()}); process wall time, {runs} interleaved rounds after a warm-up:")
    for key, samples in t.items():
        print(f"  {key:20s} {summary(samples)}")
    print(
        "  RATIO key-based, same 4 KiB artifact and ECDSA P-256 key: nebsign verify --key / "
        f"sigstore-js @sigstore/verify = {ratio(t['nebsign-ecdsa'], t['sigstore-js-ecdsa'])}"
    )
    print(
        "  RATIO keyless, same wheel + bundle: nebsign verify --cert-identity / sigstore verify "
        f"identity --offline = {ratio(t['nebsign-keyless'], t['sigstore-keyless'])}"
    )
    print(
        "  (nebsign Ed25519 / ECDSA: "
        f"{ratio(t['nebsign-ed25519'], t['nebsign-ecdsa'])}; no peer verifies nebsign's "
        "Ed25519 messageSignature form)"
    )


def bench_manifest(files: int = 100_000, runs: int = 7) -> None:
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
    t = interleave({k: functools.partial(timed, v, env=ENV) for k, v in cmds.items()}, runs)
    print(f"manifest ({files:,} files; {load()}):")
    print(f"  nebsign manifest verify      {summary(t['manifest'], 's')}")
    print(f"  nebsign verify --manifest    {summary(t['signed'], 's')}")
    print(f"  RATIO {ratio(t['signed'], t['manifest'])} (target <= 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["inproc", "cli", "manifest"])
    parser.add_argument("--runs", type=int, default=15, help="interleaved rounds (cli)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.only in (None, "inproc"):
        bench_inproc()
    if args.only in (None, "cli"):
        bench_cli(args.runs)
    if args.only in (None, "manifest"):
        bench_manifest()


if __name__ == "__main__":
    main()
