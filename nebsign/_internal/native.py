"""The optional C extension (:mod:`nebsign._speedups`, ADR 0005), in one place.

``module`` is the extension, or None where it was not built (no C compiler
or OpenSSL headers at install time). :func:`available` also honours
``NEBSIGN_PURE_PYTHON``, which selects the pure-Python code at run time (for
comparison and tests); every user of the extension asks it.
"""

from __future__ import annotations

import os

__all__ = ["available", "module"]

try:
    from nebsign import _speedups as module
except ImportError:  # pragma: no cover - built where a C compiler and OpenSSL headers exist
    module = None  # type: ignore[assignment]


def available() -> bool:
    """True when the C extension is built and not switched off by ``NEBSIGN_PURE_PYTHON``."""
    return module is not None and not os.environ.get("NEBSIGN_PURE_PYTHON")
