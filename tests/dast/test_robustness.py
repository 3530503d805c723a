"""Hostile input never crashes the scan: malformed HTML, huge and binary bodies, bad redirects."""

from __future__ import annotations

import os
from typing import Any

from dast.servers import serve
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.dast.checks._util import executes, js_code_contains
from nebsign.dast.engine import EngineLimits
from nebsign.dast.html import parse_html
from nebsign.dast.model import Response
from nebsign.dast.passive import passive_hits
from nebsign.dast.scan import ScanConfig, run_scan
from nebsign.dast.scope import Scope

html_text = st.text(
    alphabet=st.sampled_from(list("<>/=\"' abcdefhinoprst-!&;#\n\x00é")) | st.characters(),
    max_size=3000,
)


@settings(max_examples=300, deadline=None)
@given(html_text)
def test_html_parser_never_raises(text: str) -> None:
    info = parse_html(text)
    assert isinstance(info.links, list) and isinstance(info.forms, list)
    executes(text, "n1()")
    js_code_contains(text, "n1()")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=3000),
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Content-Type", "Set-Cookie", "Server", "Location", "X-Frame-Options"]
            ),
            st.text(max_size=80),
        ),
        max_size=6,
    ),
    st.integers(0, 599),
)
def test_passive_checks_never_raise(body: bytes, headers: list, status: int) -> None:
    resp = Response("GET", "http://127.0.0.1:1/x", status, tuple(headers), body)
    for hit in passive_hits(resp):
        assert hit.rule.rule_id


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=10))
def test_scope_check_never_raises(url: str, method: str) -> None:
    scope = Scope.build("http://127.0.0.1:8080/")
    reason = scope.why_not(method, url)
    assert reason is None or isinstance(reason, str)


def _hostile(env: dict[str, Any], start: Any) -> list[bytes]:
    path = env["PATH_INFO"]
    if path == "/huge":
        start("200 OK", [("Content-Type", "text/html")])
        return [b"<a href='/x'>" + b"A" * (1024 * 1024) for _ in range(8)]
    if path == "/binary":
        start("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [os.urandom(200_000)]
    if path == "/badcharset":
        start("200 OK", [("Content-Type", "text/html; charset=no-such-codec")])
        return [b"<a href='/r1'>x</a>"]
    if path.startswith("/r"):
        bad = {
            "/r1": "http://[::1",
            "/r2": "\x00\x01",
            "/r3": "javascript:alert(1)",
            "/r4": "http://127.0.0.1:99999/",
            "/r5": "/r5",
        }
        start("302 Found", [("Location", bad.get(path, "////"))])
        return [b""]
    start("200 OK", [("Content-Type", "text/html")])
    page = (
        "<html><a href='/huge'>h</a><a href='/binary'>b</a><a href='/badcharset'>c</a>"
        "<a href='/r2'><a href='/r3'><a href='/r4'><a href='/r5'><a href='http://[::1'>"
        "<form action='/f?x=1' method='POST'><input name='a'><select name='s'><option value='1'>"
        "<textarea name='t'>unterminated <script>var x = '<div"
    )
    return [page.encode()]


def test_hostile_server_is_scanned_without_a_crash() -> None:
    with serve(_hostile) as base:
        out = run_scan(
            ScanConfig(
                target=base + "/",
                checks=("xss-reflected", "sqli-error"),
                limits=EngineLimits(max_body=256 * 1024, time_budget=60),
            )
        )
    assert out.requests > 5
    assert "GET /huge" in out.endpoints and "GET /binary" in out.endpoints


def test_hostile_server_through_the_cli_never_prints_a_traceback() -> None:
    with serve(_hostile) as base:
        result = run_cli("scan", "dast", base + "/", "--checks", "sqli-error", "-q")
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
