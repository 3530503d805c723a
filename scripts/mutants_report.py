#!/usr/bin/env python3
"""Kill rate of the last ``mutmut run``, equivalent mutants (docs/mutants.md) left out.

Exit 1 when a mutant that is not recorded as equivalent survived (or was never run
by a test), so ``make mutants`` fails until every such mutant is killed or explained.
An optional argument narrows the report to mutants whose names match it, as
``mutmut run PATTERN`` does (``make mutants MUTATE='nebsign.tree.*'``): the modules the
run did not touch are then not counted as "not checked".
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "mutants.md"


def main() -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    results = dict(re.findall(r"^\s*(\S+): (.+)$", out, re.MULTILINE))
    patterns = [p for p in sys.argv[1:] if p]
    if patterns:
        results = {
            n: s for n, s in results.items() if any(fnmatch.fnmatchcase(n, p) for p in patterns)
        }
    equivalent = set(re.findall(r"^- `(\S+__mutmut_\d+)`", DOC.read_text(), re.MULTILINE))
    detected = {"killed", "timeout", "segfault", "suspicious"}
    counted = {name: status for name, status in results.items() if name not in equivalent}
    killed = [n for n, s in counted.items() if s in detected]
    alive = sorted(n for n, s in counted.items() if s not in detected)
    rate = 100.0 * len(killed) / len(counted) if counted else 100.0
    print(
        f"mutants: {len(results)} ({len(results) - len(counted)} equivalent), "
        f"{len(killed)} of {len(counted)} killed: {rate:.1f}%"
    )
    for name in alive:
        print(f"  {counted[name]}: {name}   (mutmut show {name})")
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())
