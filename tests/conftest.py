"""Shared test set-up: hermetic HOME and caches, CLI runner helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings


@pytest.fixture(autouse=True)
def _hermetic_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.delenv("NEBSIGN_PASSPHRASE", raising=False)
    yield


# --- CI strictness -----------------------------------------------------------------
# With NEBSIGN_REQUIRE_TOOLS set (as .ci/run does), a test that skips fails instead:
# on a fresh machine a missing compiler, openssl, strace or browser must not turn the
# tests that need them into silent skips. Only tests marked ``network`` (they need the
# public internet, which CI does not have) may still skip.
_REQUIRE_TOOLS = bool(os.environ.get("NEBSIGN_REQUIRE_TOOLS"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not (_REQUIRE_TOOLS and report.skipped) or item.get_closest_marker("network"):
        return
    if hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under NEBSIGN_REQUIRE_TOOLS (install what it needs): {reason}"


# --- hypothesis profiles -------------------------------------------------------------
# "ci" (the default): derandomized, so a run is reproducible and CI never flakes on a
# new random example; "fuzz" (make fuzz): random and many more examples per test.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile(
    "fuzz", max_examples=2_000, deadline=None, print_blob=True, derandomize=False
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
