"""SAST: real bandit and semgrep, nebsign's rules, a policy gate, a cache.

``interface`` (the Scanner base) + one module per backend (``bandit``,
``semgrep``); ``runner`` (cache, normalize, suppress, fingerprint);
``baseline``; ``cache``; ``staged`` (the index, for pre-commit); ``targets``
(which files); ``report`` (text/JSON/predicate). The gate is
:mod:`nebsign.policy.sast`.

Not public API (nor are its scanner backends): use ``nebsign scan sast``, its
SARIF and its predicate. Needs the ``scan`` extra.
(docs/architecture.md, Public API)
"""

from __future__ import annotations

__all__: list[str] = []
