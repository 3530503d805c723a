"""The importer interface and the registry of formats.

An importer turns the bytes of one file into an :class:`~nebsign.audit.model.Audit`
(pure: bytes in, value out). Adding a format is adding a module to
:mod:`nebsign.audit.importers` and one line to :data:`IMPORTERS`.
:func:`detect` picks the importer whose :meth:`Importer.sniff` accepts the bytes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from nebsign._internal.readlimit import read_bounded
from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.model import Audit

__all__ = ["IMPORTERS", "MAX_AUDIT_BYTES", "Importer", "detect", "get_importer", "load_audit"]

MAX_AUDIT_BYTES = 64 * 1024 * 1024

#: format name -> "module:class", imported on use
IMPORTERS: dict[str, str] = {
    "nebsign": "nebsign.audit.importers.auditfile:AuditFileImporter",
    "slither": "nebsign.audit.importers.slither:SlitherImporter",
    "sarif": "nebsign.audit.importers.sarif:SarifImporter",
    "contest": "nebsign.audit.importers.contest:ContestImporter",
}


class Importer(ABC):
    """One input format."""

    name: ClassVar[str]

    @abstractmethod
    def sniff(self, raw: bytes, filename: str) -> bool:
        """True if *raw* looks like this format (cheap; no full parse)."""

    @abstractmethod
    def parse(self, raw: bytes, what: str) -> Audit:
        """The audit in *raw*; :class:`InvalidAuditInput` naming the field if malformed."""


def get_importer(name: str) -> Importer:
    target = IMPORTERS.get(name)
    if target is None:
        raise InvalidAuditInput(f"unknown audit format {name!r}; choose from {sorted(IMPORTERS)}")
    module_name, attr = target.split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    importer = cls()
    assert isinstance(importer, Importer)
    return importer


def detect(raw: bytes, filename: str) -> Importer:
    """The importer for *raw* (first whose sniff accepts it, in registry order)."""
    for name in IMPORTERS:
        importer = get_importer(name)
        if importer.sniff(raw, filename):
            return importer
    raise InvalidAuditInput(
        f"{filename}: not a recognised audit format (nebsign audit file TOML/JSON, "
        "Slither JSON, SARIF 2.1.0, contest report Markdown)"
    )


def load_audit(path: Path, fmt: str | None = None) -> Audit:
    """Read (bounded) and import one file; *fmt* forces a format, else it is detected."""
    raw = read_bounded(path, MAX_AUDIT_BYTES, "audit input")
    importer = get_importer(fmt) if fmt else detect(raw, path.name)
    return importer.parse(raw, path.name)
