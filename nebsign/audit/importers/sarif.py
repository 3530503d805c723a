"""SARIF 2.1.0 from any contract analyser (Slither, Mythril, ...), via :mod:`nebsign.sarif`.

Findings keep the tool's level as ``original_severity``. Slither's SARIF
leaves out findings without a source location: when the same run is also
available as Slither JSON, import the JSON (:func:`nebsign.audit.check.merge`
drops the SARIF copy of a tool that also came as JSON).
"""

from __future__ import annotations

from dataclasses import replace

from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.interface import Importer
from nebsign.audit.model import Audit, scrub_local_paths
from nebsign.errors import InputError
from nebsign.findings import Source, assign_fingerprints
from nebsign.sarif import from_sarif

__all__ = ["SarifImporter"]


class SarifImporter(Importer):
    name = "sarif"

    def sniff(self, raw: bytes, filename: str) -> bool:
        head = raw[:4096]
        return b'"runs"' in raw and (b"sarif" in head.lower() or b'"2.1.0"' in raw)

    def parse(self, raw: bytes, what: str) -> Audit:
        try:
            found = from_sarif(raw, what, source=Source.AUDIT)
        except InvalidAuditInput:
            raise
        except InputError as exc:
            raise InvalidAuditInput(exc.message) from exc
        foreign, kept = [], []
        for f in found:
            if "sarif_level" not in f.properties:  # nebsign's own SARIF: exact round trip
                kept.append(f)
                continue
            props = dict(f.properties)
            props["original_severity"] = str(props["sarif_level"])
            if f.fingerprint:
                props["tool_fingerprint"] = f.fingerprint
            # the tool's own fingerprint may change with unrelated edits: nebsign's
            # is rule + path + normalized code + occurrence
            foreign.append(
                replace(
                    f,
                    source=Source.AUDIT,
                    message=scrub_local_paths(f.message),
                    title=scrub_local_paths(f.title),
                    fingerprint="",
                    properties=props,
                )
            )
        cleaned = kept + foreign
        tools = sorted({f.tool for f in cleaned})
        return Audit(
            kind="sarif",
            auditor=", ".join(tools) or "SARIF",
            findings=tuple(kept + assign_fingerprints(foreign)),
        )
