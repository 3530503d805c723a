"""Engine limits (bounded reads, request budget, no cookie jar) and passive rules on HTTPS."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from dast.servers import serve

from nebsign.dast.engine import BudgetExhausted, Engine, EngineLimits, OutOfScope
from nebsign.dast.model import RequestSpec, Response
from nebsign.dast.passive import passive_hits
from nebsign.dast.scope import Scope


def _app(env: dict[str, Any], start: Any) -> list[bytes]:
    if env["PATH_INFO"] == "/big":
        start("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"x" * 65536 for _ in range(64)]  # 4 MiB
    start("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "sid=1")])
    return [env.get("HTTP_COOKIE", "").encode() or b"no cookie"]


def test_bounded_read_budget_and_no_cookie_jar() -> None:
    async def go(base: str) -> tuple[Response, Response, Response]:
        limits = EngineLimits(max_body=100_000, max_requests=3, rate=0)
        async with Engine(Scope.build(base + "/"), limits) as engine:
            big = await engine.send(RequestSpec("GET", base + "/big"))
            first = await engine.send(RequestSpec("GET", base + "/"))
            second = await engine.send(RequestSpec("GET", base + "/"))
            with pytest.raises(OutOfScope):
                await engine.send(RequestSpec("GET", "http://127.0.0.1:9/"))
            with pytest.raises(BudgetExhausted):
                await engine.send(RequestSpec("GET", base + "/"))
            assert engine.stats.sent == 3 and engine.stats.refused == 1
            return big, first, second

    with serve(_app) as base:
        big, first, second = asyncio.run(go(base))
    assert big.truncated and len(big.body) == 100_000
    assert first.text == "no cookie" and second.text == "no cookie"  # sid=1 was not kept


def test_https_responses_need_hsts_and_secure_cookies() -> None:
    resp = Response(
        "GET",
        "https://staging.example/",
        200,
        (("Content-Type", "text/html"), ("Set-Cookie", "sid=1; HttpOnly; SameSite=Lax")),
        b"<!doctype html><p>x</p>",
    )
    rules = {h.rule.rule_id for h in passive_hits(resp)}
    assert {"missing-hsts", "cookie-no-secure", "missing-csp", "clickjacking"} <= rules
    assert "cookie-no-httponly" not in rules and "cookie-no-samesite" not in rules
    hardened = Response(
        "GET",
        "https://staging.example/",
        200,
        (
            ("Content-Type", "text/html"),
            ("Strict-Transport-Security", "max-age=31536000"),
            ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Set-Cookie", "sid=1; Secure; HttpOnly; SameSite=Lax"),
        ),
        b"<!doctype html><p>x</p>",
    )
    assert passive_hits(hardened) == []
