"""Kept for imports written before :mod:`nebsign._internal.display` became the one home.

``printable`` and ``safe_line`` live in :mod:`nebsign._internal.display` (with
``display_path`` and ``quoted``: one character map for every name printed or logged).
"""

from __future__ import annotations

from nebsign._internal.display import printable, safe_line

__all__ = ["printable", "safe_line"]
