"""``nebsign audit scan``: Slither on the contracts, offline, with solc-js.

crytic-compile cannot call solc-js directly, but its ``--solc-standard-json``
mode runs any ``solc`` that answers ``--version`` and ``--standard-json``:
:file:`solcjs.js` is that command, run by Node, with the npm ``solc``
package installed by ``scripts/ensure-solc.sh``. No compiler is downloaded.
Slither exits 255 when it finds something; that is a result, not a failure.
The findings import through the Slither importer (nebsign's fingerprints,
no local paths) and the scanned files become the scope (path + SHA-256).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nebsign._internal.canonical import parse_json_object
from nebsign._internal.extras import install_line
from nebsign._internal.readlimit import read_bounded
from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.importers.slither import findings_from_slither
from nebsign.audit.interface import MAX_AUDIT_BYTES
from nebsign.audit.model import Audit, ScopeEntry, scrub_local_paths
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.sast.interface import ScannerFailed, ScannerMissing, find_tool, run_tool

__all__ = ["MAX_CONTRACTS", "ScanTools", "find_tools", "scan_contracts"]

MAX_CONTRACTS = 10_000
MAX_CONTRACT_BYTES = 8 * 1024 * 1024
SOLCJS_HINT = "run scripts/ensure-solc.sh (npm installs solc-js into .tools/solcjs)"
SLITHER_HINT = install_line("audit")
NODE_HINT = "install Node.js (apt-get install nodejs)"


@dataclass(frozen=True, slots=True)
class ScanTools:
    """Where Slither, Node and solc-js are, and their versions."""

    slither: str
    node: str
    solcjs_dir: Path
    slither_version: str
    solcjs_version: str


def _solcjs_dir() -> Path:
    candidates = []
    env = os.environ.get("NEBSIGN_SOLCJS_DIR")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[2] / ".tools" / "solcjs")
    candidates.append(Path.cwd() / ".tools" / "solcjs")
    for path in candidates:
        if (path / "node_modules" / "solc" / "soljson.js").is_file():
            return path
    raise ScannerMissing("solc-js (the npm solc package) is not installed", hint=SOLCJS_HINT)


def find_tools() -> ScanTools:
    """Locate the tools; :class:`ScannerMissing` (exit 3) with the install hint if not."""
    node = shutil.which("node")
    if node is None:
        raise ScannerMissing("Node.js is not installed (solc-js runs under it)", hint=NODE_HINT)
    solcjs = _solcjs_dir()
    slither = find_tool("slither", SLITHER_HINT)
    try:
        from importlib.metadata import PackageNotFoundError, version

        slither_version = version("slither-analyzer")
    except PackageNotFoundError:
        slither_version = "unknown"
    meta = json.loads(
        read_bounded(solcjs / "node_modules" / "solc" / "package.json", 1 << 20, "solc-js")
    )
    return ScanTools(slither, node, solcjs, slither_version, str(meta.get("version", "unknown")))


def _contracts(root: Path, target: Path) -> list[ScopeEntry]:
    files = [target] if target.is_file() else sorted(target.glob("*.sol"))
    if len(files) > MAX_CONTRACTS:
        raise InputError(f"{target}: more than {MAX_CONTRACTS} Solidity files")
    out = []
    for path in files:
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        data = read_bounded(path, MAX_CONTRACT_BYTES, "contract")
        out.append(ScopeEntry(rel, "sha256", sha256_bytes(data)))
    return out


def scan_contracts(target: Path, *, root: Path, timeout: float = 600.0) -> Audit:
    """Run Slither on *target* (a ``.sol`` file, or a directory: its top-level
    ``.sol`` files and what they import) with paths relative to *root*."""
    root = root.resolve()
    target = target.resolve()
    if not target.exists():
        raise InputError(f"{target}: no such file or directory")
    if target != root and root not in target.parents:
        raise InputError(f"{target}: not inside the root {root}")
    scope = _contracts(root, target)
    if not scope:
        raise InputError(f"{target}: no Solidity (.sol) files to scan")
    tools = find_tools()
    with tempfile.TemporaryDirectory(prefix="nebsign-slither-") as tmp:
        wrapper = Path(tmp) / "solc"
        script = Path(__file__).with_name("solcjs.js")
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(tools.node)} {shlex.quote(str(script))} "$@"\n'
        )
        wrapper.chmod(0o700)
        out_json = Path(tmp) / "slither.json"
        rel_target = os.path.relpath(target, root)
        argv = [
            tools.slither,
            rel_target,
            "--solc-standard-json",
            "--solc",
            str(wrapper),
            "--json",
            str(out_json),
            "--disable-color",
        ]
        proc = run_tool(
            argv, cwd=root, timeout=timeout, env={"NEBSIGN_SOLCJS_DIR": str(tools.solcjs_dir)}
        )
        if proc is None:
            raise ScannerFailed(f"slither did not finish within {timeout:.0f} s")
        if not out_json.is_file():
            stderr = proc.stderr.decode("utf-8", "replace")
            known = {str(root) + "/": "", str(root): "."}
            compile_error = _compile_error(stderr)
            if compile_error is not None:
                raise InputError(
                    "slither could not analyse the contracts: "
                    + scrub_local_paths(compile_error, known)[:400]
                )
            tail = stderr.strip().splitlines()[-1:] or [""]
            raise ScannerFailed(
                f"slither exited {proc.returncode} without a result: "
                f"{scrub_local_paths(tail[0], known)[:300]}"
            )
        raw = read_bounded(out_json, MAX_AUDIT_BYTES, "slither result")
    doc = parse_json_object(raw, "slither result", limit=MAX_AUDIT_BYTES, error=InvalidAuditInput)
    if proc.returncode not in (0, 255) and doc.get("success") is not False:
        raise ScannerFailed(f"slither exited {proc.returncode}")
    if doc.get("success") is False:
        error = str(doc.get("error") or "")
        raise InputError(
            "slither could not analyse the contracts: "
            + scrub_local_paths(" ".join(error.split()), {str(root) + "/": ""})[:400]
        )
    return Audit(
        kind="slither",
        auditor="nebsign audit scan",
        findings=findings_from_slither(doc, "slither result"),
        scope=tuple(scope),
        tools={"slither": tools.slither_version, "solc-js": tools.solcjs_version},
    )


def _compile_error(stderr: str) -> str | None:
    """The compiler's message when crytic-compile gave up on the sources, else None."""
    marker = "InvalidCompilation:"
    at = stderr.find(marker)
    if at < 0:
        return None
    text = stderr[at + len(marker) :].strip().splitlines()
    where = next((line.strip() for line in text if line.strip().startswith("-->")), "")
    return " ".join(filter(None, [text[0].strip() if text else "", where]))
