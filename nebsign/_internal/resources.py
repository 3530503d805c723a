"""Locate bundled data (policies/, examples/) in a wheel or a source checkout."""

from __future__ import annotations

from pathlib import Path

from nebsign.errors import EnvironmentFault

__all__ = ["data_path"]

_PKG = Path(__file__).resolve().parent.parent


def data_path(name: str) -> Path:
    """Path of the bundled top-level data directory *name* (``policies``, ``examples``)."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise EnvironmentFault(f"bundled data {name!r} not found", hint="reinstall nebsign")
