"""Fixtures for the DAST tests: the vulnerable app and its twin on 127.0.0.1, one scan each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from dast.servers import serve
from dast.testapp import OPENAPI, make_app

from nebsign.dast.gate import DastRequest, scan_dast
from nebsign.dast.policy import DastVerdict

SPEC = json.dumps(OPENAPI).encode()


@pytest.fixture(scope="session")
def vuln_url() -> Iterator[str]:
    with serve(make_app(hardened=False)) as url:
        yield url


@pytest.fixture(scope="session")
def twin_url() -> Iterator[str]:
    with serve(make_app(hardened=True)) as url:
        yield url


@pytest.fixture(scope="session")
def vuln_verdict(vuln_url: str) -> DastVerdict:
    """One full scan of the vulnerable app (with its OpenAPI document), shared."""
    return scan_dast(DastRequest(target=vuln_url + "/", openapi=SPEC, time_budget=240))


@contextmanager
def cpu_load(processes: int = 2, seconds: float = 240) -> Iterator[None]:
    """Busy-looping processes (bounded in time) beside the test; stopped on exit."""
    code = f"import time\nend=time.monotonic()+{seconds}\nwhile time.monotonic()<end: pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


def require_tools() -> bool:
    return bool(os.environ.get("NEBSIGN_REQUIRE_TOOLS"))
