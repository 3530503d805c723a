"""The files `nebsign verify` reads for one FILE: its signature and attestation bundles.

Given on the command line (``--bundle``, ``--attestation``) or found where a
release layout puts them (``FILE.sigstore.json``; with ``--manifest`` also
``signatures/`` and ``attestations/`` beside FILE), and read bounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError

if TYPE_CHECKING:
    from nebsign.release_check import BundleInput

__all__ = ["BUNDLE_SUFFIX", "Bundles", "find_bundles", "read_all"]

BUNDLE_SUFFIX = ".sigstore.json"


@dataclass(frozen=True)
class Bundles:
    """The bundle files of one FILE: signatures and attestations."""

    signatures: list[str]
    attestations: list[str]

    def all(self) -> list[str]:
        return [*self.signatures, *self.attestations]


def _listed(directory: str) -> list[str]:
    """The ``*.sigstore.json`` files of a release layout's bundle directory (sorted)."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise InputError(f"cannot list {directory}: {exc.strerror or exc}") from exc
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(BUNDLE_SUFFIX)]


def find_bundles(
    files: tuple[str, ...], bundles: tuple[str, ...], attestations: tuple[str, ...], manifest: bool
) -> list[tuple[str, Bundles]]:
    """Each FILE with its bundles.

    Without --bundle: FILE.sigstore.json, and with --manifest the release
    layout's ``signatures/`` and ``attestations/`` next to FILE.
    """
    if attestations and len(files) != 1:
        raise InputError("--attestation needs exactly one FILE")
    if bundles and len(files) != 1 and len(bundles) != len(files):
        raise InputError(
            f"{len(files)} files but {len(bundles)} --bundle options: give one bundle per file "
            "(in order), several bundles for one file, or none (FILE.sigstore.json)"
        )
    out = []
    for i, path in enumerate(files):
        here = os.path.dirname(path)
        if len(files) == 1 and bundles:
            sigs = list(bundles)
        elif bundles:
            sigs = [bundles[i]]
        else:
            default = path + BUNDLE_SUFFIX
            more = _listed(os.path.join(here, "signatures")) if manifest else []
            # FILE.sigstore.json may be absent when signatures/ holds the bundles
            sigs = [default] if os.path.lexists(default) or not more else []
            sigs += more
        atts = list(attestations)
        if manifest:
            atts += [a for a in _listed(os.path.join(here, "attestations")) if a not in atts]
        out.append((path, Bundles(sigs, atts)))
    return out


def read_all(paths: list[str]) -> list[BundleInput]:
    from nebsign.bundle import MAX_BUNDLE_BYTES

    return [(p, read_bounded(p, MAX_BUNDLE_BYTES, "bundle")) for p in paths]
