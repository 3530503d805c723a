"""Third-party smart-contract audits: import findings, check coverage and drift, scan.

* :mod:`nebsign.audit.interface` - the importer interface and registry; one
  module per format in :mod:`nebsign.audit.importers`.
* :mod:`nebsign.audit.check` - which release files no audit covers, which
  changed since the audit, which findings are still open (pure).
* :mod:`nebsign.audit.scan` - Slither on the contracts, offline, via solc-js.
* :mod:`nebsign.audit.report` - the AUDIT_V1 predicate, text and SARIF.

Not public API: use ``nebsign audit``, its SARIF and its predicate.
(docs/architecture.md, Public API)
"""
