"""Shared helpers for the audit tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO

DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = REPO / "examples"
SAMPLE_AUDIT = EXAMPLES / "audits" / "vault-audit.toml"
SLITHER_VAULT = EXAMPLES / "audits" / "slither-vault.json"
VAULT_SHA256 = "8779cc6956fda540093403fde3a563f05dd5f07f900dba16ae42fc601714d013"
SCHEMA = "https://nebsign.dev/schemas/audit-file/v1"


def scan_tools_or_skip() -> None:
    """Skip when Node, solc-js or Slither is absent, unless NEBSIGN_REQUIRE_TOOLS is set."""
    from nebsign.audit.scan import find_tools
    from nebsign.errors import EnvironmentFault

    try:
        find_tools()
    except EnvironmentFault as exc:
        if os.environ.get("NEBSIGN_REQUIRE_TOOLS"):
            raise
        pytest.skip(f"audit scan tools missing: {exc.diagnostics()}")


def audit_doc(**overrides: Any) -> dict[str, Any]:
    """A valid audit document (JSON form); keyword arguments replace top-level keys."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "auditor": "Test Firm",
        "report": {"title": "Test report", "url": "https://example.com/report.pdf"},
        "dates": {"audit": "2026-10-01", "fix_review": "2026-10-20"},
        "repository": "https://github.com/example/exchange",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "scope": [{"path": "contracts/Vault.sol", "sha256": VAULT_SHA256}],
        "findings": [
            {
                "id": "TF-01",
                "title": "Something",
                "severity": "High",
                "status": "Unresolved",
                "location": {"path": "contracts/Vault.sol", "line": 3},
            }
        ],
    }
    doc.update(overrides)
    return doc


def copy_release(dest: Path) -> Path:
    shutil.copytree(EXAMPLES / "release", dest, symlinks=True)
    return dest
