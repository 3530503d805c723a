"""The scope lock holds (a second loopback listener receives nothing) and budgets end scans."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from dast.servers import Tripwire, serve

from nebsign.dast.engine import EngineLimits
from nebsign.dast.scan import ScanConfig, run_scan
from nebsign.dast.scope import Scope
from nebsign.errors import InputError


def _leaky_app(port: int) -> Any:
    other = f"http://127.0.0.1:{port}"

    def app(env: dict[str, Any], start: Any) -> list[bytes]:
        path = env["PATH_INFO"]
        if path == "/away":
            start("302 Found", [("Location", f"{other}/stolen?x=1")])
            return [b""]
        if path == "/away2":
            start("301 Moved", [("Location", f"//127.0.0.1:{port}/protocol-relative")])
            return [b""]
        body = (
            f"<a href='{other}/link'>a</a><a href='http://localhost:{port}/'>b</a>"
            f"<a href='//127.0.0.1:{port}/rel'>c</a><a href='/away'>d</a><a href='/away2'>e</a>"
            f"<iframe src='{other}/frame'></iframe><script src='{other}/x.js'></script>"
            f"<meta http-equiv='refresh' content='0; url={other}/meta'>"
            f"<form method='post' action='{other}/submit'><input name='q'></form>"
            f"<form action='/search'><input name='url' value='{other}/p'></form>"
            "<a href='/logout'>logout</a><a href='/admin/x'>admin</a>"
        )
        start("200 OK", [("Content-Type", "text/html")])
        return [body.encode()]

    return app


def test_no_request_leaves_the_scope() -> None:
    with Tripwire() as wire, serve(_leaky_app(wire.port)) as base:
        out = run_scan(
            ScanConfig(
                target=base + "/",
                exclude=("/logout*", "/admin/*"),
                limits=EngineLimits(time_budget=60),
            )
        )
        assert wire.connections == 0
    assert out.requests > 20  # the in-scope pages and forms were probed
    left = " ".join(out.left_scope)
    for piece in ("/link", "/frame", "/x.js", "/meta", "/submit", "/stolen", "localhost"):
        assert piece in left, (piece, out.left_scope)
    assert not any("/logout" in e or "/admin" in e for e in out.endpoints)


def test_scope_check_refuses_everything_outside() -> None:
    scope = Scope.build(
        "http://127.0.0.1:8080/app/", prefixes=["/app/"], exclude=["/app/logout"], methods=["GET"]
    )
    assert scope.allows("GET", "http://127.0.0.1:8080/app/x?y=1")
    assert scope.why_not("GET", "http://127.0.0.1:8081/app/x") is not None
    assert scope.why_not("GET", "https://127.0.0.1:8080/app/x") is not None
    assert scope.why_not("GET", "http://localhost:8080/app/x") is not None
    assert scope.why_not("GET", "http://127.0.0.1:8080/other") is not None
    assert scope.why_not("GET", "http://127.0.0.1:8080/app/logout") is not None
    assert scope.why_not("POST", "http://127.0.0.1:8080/app/x") is not None
    assert scope.why_not("GET", "file:///etc/passwd") is not None
    assert scope.why_not("GET", "http://user:pw@127.0.0.1:8080/app/") is not None


def test_non_loopback_target_needs_explicit_scope() -> None:
    with pytest.raises(InputError, match="not a loopback address"):
        Scope.build("http://staging.example.com/")
    scope = Scope.build("http://staging.example.com/", extra=["http://staging.example.com"])
    assert scope.allows("GET", "http://staging.example.com/x")


def _endless_slow_app(env: dict[str, Any], start: Any) -> list[bytes]:
    time.sleep(0.3)
    n = next(_counter)
    links = "".join(f"<a href='/page/{n}-{i}?p={i}'>x</a>" for i in range(5))
    start("200 OK", [("Content-Type", "text/html")])
    return [f"<html><body>{links}<form action='/s'><input name='q'></form></body></html>".encode()]


_counter = itertools.count()


def test_slow_endless_site_ends_within_budget_and_reports_what_it_missed() -> None:
    budget = 4.0
    with serve(_endless_slow_app) as base:
        out = run_scan(
            ScanConfig(
                target=base + "/",
                max_pages=10_000,
                limits=EngineLimits(time_budget=budget, timeout=2.0, concurrency=4),
            )
        )
    # the engine's own clock: the scan stopped at its budget (+ requests then in flight)
    assert out.elapsed < budget + 2.0 + 1.0
    assert out.not_covered_total > 0
    assert out.not_covered


def test_request_budget_is_a_hard_limit() -> None:
    with serve(_endless_slow_app) as base:
        out = run_scan(ScanConfig(target=base + "/", limits=EngineLimits(max_requests=15, rate=0)))
    assert out.requests == 15
    assert out.not_covered_total > 0
