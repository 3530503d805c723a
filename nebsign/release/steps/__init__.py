"""The checks of ``nebsign release``, in the order of the release protocol.

Each module here defines ``STEP``: an object with ``name``, ``applies(request)``
and ``run(ctx) -> StepResult`` (:class:`nebsign.release.model.Step`). A
capability joins the pipeline by adding one module and one line in
:data:`STEPS`; the pipeline signs every result and lays out the release.
"""

from __future__ import annotations

import importlib
from typing import cast

from nebsign.release.model import Step

__all__ = ["STEPS", "load_steps"]

#: SAST (payload, source) -> DAST on staging -> audit coverage -> staging gate -> canary gate
STEPS: list[str] = [
    "nebsign.release.steps.sast",
    "nebsign.release.steps.sast:SOURCE",
    "nebsign.release.steps.dast",
    "nebsign.release.steps.audit",
    "nebsign.release.steps.gates:STAGING",
    "nebsign.release.steps.gates:CANARY",
]


def load_steps() -> list[Step]:
    """The step objects, in order (a module's ``STEP``, or ``module:NAME``)."""
    out = []
    for entry in STEPS:
        module_name, _, attr = entry.partition(":")
        module = importlib.import_module(module_name)
        out.append(cast(Step, getattr(module, attr or "STEP")))
    return out
