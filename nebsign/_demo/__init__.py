"""``nebsign demo``: the whole pipeline on the bundled example release, offline.

Each capability adds one module here with ``TITLE: str`` and
``run(ctx: DemoContext) -> Iterator[str]`` (yielding the lines to show), and
one line in :data:`STEPS`. Steps share state through :class:`DemoContext`.
A step that must show a refusal catches the expected ``VerdictError`` itself
and yields what was refused; any other error stops the demo.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

__all__ = ["STEPS", "DemoContext", "load_steps"]

#: modules run in the order of the release protocol: hash, scan, sign, install
STEPS: list[str] = [
    "nebsign._demo.foundation",
    "nebsign._demo.sast",
    "nebsign._demo.dast",
    "nebsign._demo.signing",
    "nebsign._demo.gates",
    "nebsign._demo.agent",
    "nebsign._demo.audit",
    "nebsign._demo.release",
    "nebsign._demo.channels",
    "nebsign._demo.report",  # last: renders the evidence the steps before it produced
]


@dataclass
class DemoContext:
    """Shared state: a scratch directory, the example data, values steps pass on."""

    workdir: Path
    examples: Path
    values: dict[str, Any] = field(default_factory=dict)


def load_steps() -> list[tuple[str, Callable[[DemoContext], Iterator[str]]]]:
    """(title, run) for each step, in order."""
    out = []
    for name in STEPS:
        module = importlib.import_module(name)
        out.append(
            (cast(str, module.TITLE), cast(Callable[[DemoContext], Iterator[str]], module.run))
        )
    return out
