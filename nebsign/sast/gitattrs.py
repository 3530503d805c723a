"""Git attributes that make a built archive differ from the scanned source.

``git archive`` expands ``$Format:...$`` in files marked ``export-subst``
(a commit subject can then inject code into a scanned-clean file), and a
``filter`` driver rewrites files on checkout. Either on a scanned source
file means what ships is not what was scanned, so each is a finding of
nebsign's own (tool ``nebsign``, rule ``git-attribute-rewrites-source``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from nebsign.findings import Confidence, Severity
from nebsign.sast.interface import Hit

__all__ = ["attribute_hits"]

_ATTRS = ("export-subst", "filter")


def _rewriting(attr: str, value: str) -> bool:
    if attr == "export-subst":
        return value == "set"
    return value not in ("unspecified", "unset")


def attribute_hits(cwd: Path, paths: Sequence[str], *, cached: bool) -> dict[str, list[Hit]]:
    """Hits for *paths* (relative to *cwd*) carrying a rewriting git attribute.

    Outside a git work tree there are no attributes and nothing is reported.
    With *cached*, attributes come from the index (what is being committed).
    """
    if not paths:
        return {}
    args = ["git", "check-attr", "-z", "--stdin"]
    if cached:
        args.append("--cached")
    try:
        proc = subprocess.run(  # noqa: S603 - fixed git argv, no shell
            [*args, *_ATTRS],
            cwd=cwd,
            input=b"".join(os.fsencode(p) + b"\0" for p in paths),
            capture_output=True,
            check=False,
        )
    except OSError:
        return {}
    if proc.returncode != 0:
        return {}  # not a git work tree: git archive cannot apply attributes here
    fields = proc.stdout.split(b"\0")
    out: dict[str, list[Hit]] = {}
    for i in range(0, len(fields) - 2, 3):
        path, attr, value = (os.fsdecode(f) for f in fields[i : i + 3])
        if _rewriting(attr, value):
            out.setdefault(path, []).append(_hit(attr, value))
    return out


def _hit(attr: str, value: str) -> Hit:
    shown = attr if attr == "export-subst" else f"{attr}={value}"
    return Hit(
        rule_id="git-attribute-rewrites-source",
        line=1,
        column=None,
        end_line=1,
        end_column=None,
        severity=Severity.CRITICAL,
        confidence=Confidence.HIGH,
        title="git attribute rewrites this source in archives or checkouts",
        message=f".gitattributes sets {shown} on this file: what git archive or a checkout "
        "produces is not the source that was scanned",
        recommendation="remove the attribute for source files (record build metadata in a "
        "generated file that is scanned in the built artifact)",
        cwe=("CWE-436",),
        properties={"attribute": shown},
    )
