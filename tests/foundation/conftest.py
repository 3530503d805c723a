"""Fixtures shared by the foundation tests."""

from __future__ import annotations

import pytest

from nebsign._internal import hashpool


@pytest.fixture(params=["c", "python"])
def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the C loop, then with the pure-Python one."""
    if request.param == "python":
        monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    elif hashpool._speedups is None:
        pytest.skip("C loop not built here")
    return str(request.param)
