"""``nebsign release``: the build-server step, as library calls (orchestration layer).

:func:`run_release` takes a :class:`ReleaseRequest` and a signer (a private key,
or Sigstore keyless: :mod:`nebsign.release.signer`) and returns a
:class:`ReleaseOutcome`; the CLI (``nebsign/cli/release.py``) only reads the key
or the identity token and prints. Checks plug in as steps (:mod:`nebsign.release.steps`).
"""

from __future__ import annotations

from nebsign.release.model import (
    ReleaseContext,
    ReleaseOutcome,
    ReleaseRequest,
    ReleaseStopped,
    Step,
    StepResult,
)
from nebsign.release.pipeline import clock, expires_after, run_release

__all__ = [
    "ReleaseContext",
    "ReleaseOutcome",
    "ReleaseRequest",
    "ReleaseStopped",
    "Step",
    "StepResult",
    "clock",
    "expires_after",
    "run_release",
]
