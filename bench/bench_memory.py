"""Peak RSS of nebsign's parsers per document type, honest and hostile (issue 17.3).

Each case runs ``nebsign`` as its own process on a generated file and reads
that process's peak RSS with ``os.wait4``. The ratio is the growth over an
idle nebsign process (``nebsign --version``) divided by the input size: what
the input cost, as a multiple of itself.

    .venv/bin/python bench/bench_memory.py        # ~1 minute, writes under a temp dir
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

MiB = 1024 * 1024
NEBSIGN = [sys.executable, "-m", "nebsign"]


#: runs nebsign, then writes the process's own peak RSS (VmHWM, KiB: per address
#: space, so unlike ru_maxrss not inherited from a large parent) to the file $HWM_FILE
_HWM = (
    "import os, runpy, sys\n"
    "sys.argv[0] = 'nebsign'\n"
    "try:\n"
    "    runpy.run_module('nebsign', run_name='__main__')\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "    open(os.environ['HWM_FILE'], 'w').write(hwm)\n"
)


def peak_kib(args: list[str], cwd: Path) -> tuple[int, int]:
    """(exit code, peak RSS in KiB) of one nebsign process, measured by itself."""
    hwm = cwd / ".hwm"
    env = {**os.environ, "HWM_FILE": str(hwm)}
    proc = subprocess.run(
        [sys.executable, "-c", _HWM, *args], cwd=cwd, env=env, check=False,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc.returncode, int(hwm.read_text())


def _hex(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _manifest(n: int) -> bytes:
    files = ",".join(
        f'{{"path":"d{i // 1000:03d}/f{i:06d}","sha256":"{_hex(i)}","size":{i}}}' for i in range(n)
    )
    return f'{{"_type":"https://nebsign.dev/manifest/v1","files":[{files}],"name":"x","version":"1"}}'.encode()


def _junk_bundle(size: int) -> bytes:
    golden = Path(__file__).resolve().parent.parent / "tests/assets/golden"
    doc = json.loads((golden / "artifact.bin.tlog.sigstore.json").read_bytes())
    proof = doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["junk"] = [{}] * (size // 3)
    return json.dumps(doc, separators=(",", ":")).encode()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nebsign-mem-") as tmp:
        work = Path(tmp)
        (work / "tree").mkdir()
        _, idle = peak_kib(["--version"], work)
        key = Path(__file__).resolve().parent.parent / "tests/assets/golden/keys/ed25519-a.pub"
        cases: list[tuple[str, str, bytes, list[str], int]] = []
        m = _manifest(100_000)
        cases.append(
            (
                "manifest, 100,000 entries (honest)",
                "m.json",
                m,
                ["manifest", "verify", "m.json", "tree"],
                1,
            )
        )
        cases.append((
            "manifest, 64 MiB of [{},{},...] (hostile)", "h.json",
            b'{"files":[' + b",".join([b"{}"] * (64 * MiB // 3)) + b"]}",
            ["manifest", "verify", "h.json", "tree"], 1,
        ))  # fmt: skip
        for n, size in ((1, 30 * MiB), (4, 3 * MiB)):
            raw = _junk_bundle(size)
            names = [f"b{i}.json" for i in range(n)]
            for name in names[1:]:
                (work / name).write_bytes(raw)
            args = ["verify", "m.json", "--key", str(key)]
            for name in names:
                args += ["--bundle", name]
            label = f"{n} bundle(s) of {len(raw) // MiB} MiB, junk in inclusionProof (hostile)"
            cases.append((label, names[0], raw, args, n))
        line = f"{hashlib.sha256(b'x').hexdigest()}  a\n".encode()
        (work / "a").write_bytes(b"x")
        cases.append(
            (
                "hash --check, 32 MiB of lines",
                "sums",
                line * (32 * MiB // len(line)),
                ["hash", "--check", "sums", "-q"],
                1,
            )
        )
        print(f"idle nebsign process: {idle / 1024:.0f} MiB")
        print("| document | input | exit | peak RSS | growth / input |")
        print("|---|---|---|---|---|")
        for label, name, data, args, copies in cases:
            (work / name).write_bytes(data)
            code, peak = peak_kib(args, work)
            growth, total = max(0, peak - idle) * 1024, len(data) * copies
            print(
                f"| {label} | {total / MiB:.1f} MiB | {code} | {peak / 1024:.0f} MiB "
                f"| {growth / total:.2f}x |"
            )


if __name__ == "__main__":
    main()
