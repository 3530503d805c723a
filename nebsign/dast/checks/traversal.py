"""Path traversal / local file inclusion: a system file's content comes back."""

from __future__ import annotations

import re

from nebsign.dast.checks._util import signature_probe
from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import Endpoint, Param
from nebsign.findings import Severity

__all__ = ["FILE_PROOF", "PathTraversal"]

FILE_PROOF = re.compile(r"(root:[^:\n]*:0:0:|\[fonts\]\s*\r?\n|\[extensions\]\s*\r?\n)")
_DEPTH = "../" * 10
_PAYLOADS = (
    _DEPTH + "etc/passwd",
    "/etc/passwd",
    "....//" * 10 + "etc/passwd",
    "..%2f" * 10 + "etc%2fpasswd",
    _DEPTH + "etc/passwd\x00.png",
    "..\\" * 10 + "windows\\win.ini",
    "file:///etc/passwd",
)


class PathTraversal(ActiveCheck):
    rule_id = "path-traversal"
    title = "Path traversal / local file inclusion"
    severity = Severity.HIGH
    cwe = ("CWE-22",)
    recommendation = (
        "Map request values to files through an allow-list or resolve the path and "
        "check it stays inside the intended directory."
    )

    async def check_param(self, ctx: CheckContext, endpoint: Endpoint, param: Param) -> list[Hit]:
        found = await signature_probe(ctx, endpoint, param, _PAYLOADS, FILE_PROOF)
        if found is None:
            return []
        return found.hit(
            param,
            f"{param.name!r} reads a file outside the application "
            "(system file content in the response)",
            width=60,
        )
