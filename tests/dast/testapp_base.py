"""Plumbing of the DAST test app (see testapp.py): responses, sqlite, CSRF tokens, routing."""

from __future__ import annotations

import html
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import jinja2

Env = dict[str, Any]
Result = tuple[str, list[tuple[str, str]], bytes]


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.create_function("sleep", 1, lambda s: time.sleep(min(float(s), 5)) or 0)
    conn.executescript(
        """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price INTEGER);
        INSERT INTO items VALUES (1, 'apple', 3), (2, 'pear', 4), (3, 'plum', 5);
        CREATE TABLE users (username TEXT, password TEXT);
        INSERT INTO users VALUES ('admin', 's3cr3t-not-guessable');
        """
    )
    return conn


class Base:
    """Response helpers shared by the vulnerable app and its twin; routes from ROUTES."""

    ROUTES: dict[str, str] = {}

    def __init__(self, hardened: bool) -> None:
        self.hardened = hardened
        self.lock = threading.Lock()
        self.comments: list[str] = []
        self.csrf = secrets.token_hex(8)
        self.jinja = jinja2.Environment(autoescape=True)

    # -- plumbing ---------------------------------------------------------------------
    def headers(self, ctype: str = "text/html; charset=utf-8") -> list[tuple[str, str]]:
        h = [("Content-Type", ctype)]
        if self.hardened:
            h += [
                ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
                ("X-Frame-Options", "DENY"),
                ("X-Content-Type-Options", "nosniff"),
                ("Server", "app"),
            ]
        return h

    def page(
        self, body: str, status: str = "200 OK", extra: list[tuple[str, str]] | None = None
    ) -> Result:
        doc = f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"
        return status, self.headers() + (extra or []), doc.encode()

    def text(
        self, body: str, status: str = "200 OK", ctype: str = "text/plain; charset=utf-8"
    ) -> Result:
        return status, self.headers(ctype), body.encode()

    def esc(self, value: str) -> str:
        return html.escape(value) if self.hardened else value

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = _db()  # one connection per request: a sleeping query blocks no other request
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def form_token(self) -> str:
        if self.hardened:
            return f'<input type="hidden" name="csrf_token" value="{self.csrf}">'
        return ""

    def token_ok(self, form: dict[str, str]) -> bool:
        return not self.hardened or form.get("csrf_token") == self.csrf

    # -- endpoints --------------------------------------------------------------------
    def __call__(self, env: Env, start_response: Callable[..., Any]) -> list[bytes]:
        path = env.get("PATH_INFO", "/")
        q = {
            k: v[0]
            for k, v in parse_qs(env.get("QUERY_STRING", ""), keep_blank_values=True).items()
        }
        form: dict[str, str] = {}
        if env["REQUEST_METHOD"] == "POST":
            length = min(int(env.get("CONTENT_LENGTH") or 0), 1_000_000)
            raw = env["wsgi.input"].read(length).decode(errors="replace")
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        name = self.ROUTES.get(path)
        if name is None:
            status, headers, body = self.text("not found", "404 Not Found")
        else:
            status, headers, body = getattr(self, name)(q, form, env)
        start_response(status, headers)
        return [body]
