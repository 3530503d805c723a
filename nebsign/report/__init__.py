"""The public audit report: ``nebsign report build|verify``.

Rendered only from verified evidence (:mod:`.evidence`), as one document
(:mod:`.model`, schema in :mod:`.schema`) that the renderers (:mod:`.render`)
turn into ``index.html``, ``report.md`` and ``report.json``; the directory is
signed and checked by :mod:`.publish`. Heavy imports (jinja2, markdown-it-py)
happen only when a report is rendered.

Not public API: use ``nebsign report``; the report files are the interface.
Needs the ``report`` extra.
(docs/architecture.md, Public API)
"""

from __future__ import annotations

__all__: list[str] = []
