"""Rollout gates: staging KPIs against a baseline, canary and regional thresholds.

The decision modules (:mod:`.staging`, :mod:`.canary`, :mod:`.rollout`) are
pure: metric values in, a :class:`~nebsign.gate.model.GateResult` out. Metric
files are parsed by one reader per format (:mod:`.readers`), the policy comes
from the ``[gates]`` table (:mod:`.policy`) and the result becomes a GATE_V1
predicate (:mod:`.report`). Every verdict is PASS, FAIL or INCONCLUSIVE;
missing, short, gappy or duplicate data never passes.

Not public API: use ``nebsign gate`` and its predicate. Needs the ``gates`` extra.
(docs/architecture.md, Public API)
"""

from __future__ import annotations

__all__: list[str] = []
