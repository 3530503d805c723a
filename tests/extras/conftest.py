"""Fixtures for the install-split tests; shared helpers are in extrakit.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
