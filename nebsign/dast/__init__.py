"""DAST: probe a running application, scope-locked, and gate the result by policy.

The pieces, each its own module: :mod:`~nebsign.dast.scope` (the one check
every request passes), :mod:`~nebsign.dast.engine` (async HTTP with budgets),
:mod:`~nebsign.dast.crawl` and :mod:`~nebsign.dast.openapi` (discovery),
:mod:`~nebsign.dast.passive` (checks on every response),
:mod:`~nebsign.dast.checks` (active checks: one module each, one interface,
one registry), :mod:`~nebsign.dast.policy` (levels, baseline, verdict) and
:mod:`~nebsign.dast.report` (predicate, JSON, text). :func:`scan` in
:mod:`~nebsign.dast.scan` ties them together. httpx is imported only here,
never by ``nebsign --version`` or ``hash``.
"""

from __future__ import annotations

__all__: list[str] = []
