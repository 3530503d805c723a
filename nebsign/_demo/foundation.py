"""Demo step: hash the example release, write its manifest, verify, catch tampering."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from nebsign._internal import native
from nebsign._internal.atomic import atomic_write
from nebsign._internal.hashpool import worker_count
from nebsign.checksums import format_line
from nebsign.digest import sha256_file
from nebsign.errors import NebsignError
from nebsign.manifest import Manifest
from nebsign.tree import build_manifest, verify_tree

from . import DemoContext

TITLE = "SHA-256 hashing and the release manifest"


def run(ctx: DemoContext) -> Iterator[str]:
    release = ctx.workdir / "release"
    shutil.copytree(ctx.examples / "release", release, symlinks=True)
    ctx.values["release_dir"] = release

    artifact = release / "dist" / "exchange-api-1.4.2.tar.gz"
    digest = sha256_file(artifact)
    yield "sha256sum-compatible line for the deployment artifact:"
    yield "  " + format_line(digest.sha256, b"dist/exchange-api-1.4.2.tar.gz").decode().rstrip()

    manifest = build_manifest(release, name="exchange-api", version="1.4.2")
    manifest_path = ctx.workdir / "release.json"
    atomic_write(manifest_path, manifest.to_json())
    ctx.values["manifest_path"] = manifest_path
    again = build_manifest(release, name="exchange-api", version="1.4.2")
    if again.to_json() != manifest.to_json():
        raise NebsignError("demo: rebuilding the manifest gave different bytes")
    yield (
        f"manifest {manifest_path.name}: {len(manifest.files)} files, "
        f"{len(manifest.symlinks)} symlinks, digest sha256:{manifest.digest()}"
    )
    yield "rebuilt from the same tree: byte-identical (canonical JSON, RFC 8785)"
    workers = worker_count()
    if native.available():
        yield f"trees hash in the C loop: {workers} threads, OpenSSL SHA-256, GIL released"
    else:
        why = "NEBSIGN_PURE_PYTHON is set" if native.module is not None else "C loop not built here"
        yield f"trees hash in the pure-Python loop: {workers} processes ({why})"
    executables = [e.path for e in manifest.files if e.executable]
    links = [f"{e.path} -> {e.target}" for e in manifest.symlinks]
    yield f"signed modes: executable {', '.join(executables)}; symlinks {', '.join(links)}"

    parsed = Manifest.from_json(manifest_path.read_bytes())
    diff = verify_tree(parsed, release)
    yield f"verify against the tree: {'OK' if diff.ok else 'MISMATCH'} ({diff.checked} entries)"

    tampered = ctx.workdir / "tampered"
    shutil.copytree(release, tampered, symlinks=True)
    target = tampered / "app" / "exchange_api" / "orders.py"
    target.write_bytes(target.read_bytes() + b"\n# injected\n")
    (tampered / "app" / "backdoor.py").write_text("import os\n")
    diff = verify_tree(parsed, tampered)
    yield "after tampering with a copy (one file edited, one added):"
    for change in diff.changed:
        yield f"  CHANGED {change.path}"
    for extra in diff.extra:
        yield f"  EXTRA   {extra}"
    yield f"  verdict: {'OK' if diff.ok else 'refused (exit 1)'}"
