"""The on-host verify agent: stage, verify, install, switch, roll back, audit.

Modules: :mod:`layout` (the agent root on disk, lock, crash points),
:mod:`auditlog` (hash-chained JSON lines), :mod:`state` (monotonic state),
:mod:`source` (reading a published release once), :mod:`stage` (verify the
staged bytes), :mod:`install` (switch ``current``), :mod:`rollback`,
:mod:`hooks` and :mod:`daemon`.

Not public API: use ``nebsign agent``, the host policy and the audit log format.
(docs/architecture.md, Public API)
"""
