"""Does a SAST verdict cover what a release ships? Pure: no I/O.

A signed SAST "pass" means something only about the bytes that were
scanned. The SAST predicate lists them (``scanned``: path -> SHA-256 of
every file scanned, symlinks under their own name with their target's
content) and the executable files it looked at and found not to be Python
(``not_python``). A release is covered when every file Python would run from
it was scanned with the same bytes:

* files ending in ``.py``, ``.pyw`` or ``.pth`` (``.pth`` lines run at every
  interpreter start), and symlinks with such a name (Python imports the
  target's content under the link's name);
* executable files (a Python shebang makes them Python scripts): scanned, or
  recorded as looked at and not Python, with the same bytes.

Paths are compared as the manifest names them (relative to the release's
payload). Files inside archives and compiled extensions are not judged
here: what ships as an archive needs a scan of the archive's contents.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from nebsign.manifest import Manifest

__all__ = ["PYTHON_SUFFIXES", "sast_coverage_problems"]

PYTHON_SUFFIXES = (".py", ".pyw", ".pth")
_HEX = re.compile(r"[0-9a-f]{64}")


def _table(value: object) -> dict[str, str] | None:
    """A ``{path: "sha256:<hex>"}`` table, or None when absent or malformed."""
    if not isinstance(value, Mapping):
        return None
    out: dict[str, str] = {}
    for path, digest in value.items():
        if not isinstance(path, str) or not isinstance(digest, str):
            return None
        hexdigest = digest.removeprefix("sha256:")
        if not _HEX.fullmatch(hexdigest):
            return None
        out[path] = hexdigest
    return out


def _link_target(path: str, target: str) -> str | None:
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return None if joined == ".." or joined.startswith("../") else joined


def sast_coverage_problems(predicate: Mapping[str, Any], release: Manifest) -> list[str]:
    """What of *release* the SAST *predicate* does not cover; empty means covered."""
    scanned = _table(predicate.get("scanned"))
    if scanned is None:
        return ["the SAST result does not list the files it scanned (path -> sha256)"]
    not_python = _table(predicate.get("not_python", {}))
    if not_python is None:
        return ["the SAST result's not_python table is malformed"]
    problems: list[str] = []
    files = {e.path: e for e in release.files}
    for entry in release.files:
        python = entry.path.endswith(PYTHON_SUFFIXES)
        if not python and not entry.executable:
            continue
        got = scanned.get(entry.path)
        if got == entry.sha256 or (not python and not_python.get(entry.path) == entry.sha256):
            continue
        why = "not scanned" if got is None else f"scanned with other content (sha256:{got})"
        problems.append(f"{entry.path}: {why}")
    for link in release.symlinks:
        if not link.path.endswith(PYTHON_SUFFIXES):
            continue
        target = _link_target(link.path, link.target)
        linked = files.get(target) if target is not None else None
        if linked is None:
            continue  # nothing to import: a dangling link fails at import, not here
        got = scanned.get(link.path)
        if got != linked.sha256:
            why = "not scanned" if got is None else f"scanned with other content (sha256:{got})"
            problems.append(f"{link.path} (link to {target}): {why}")
    return problems
