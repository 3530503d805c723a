# ruff: noqa: E501 - long literal HTML and SQL lines read better whole in this test app
"""The DAST test app's API, JSONP, SSRF, HPP, CSRF and disclosure endpoints (see testapp.py)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

from dast.testapp_base import Base, Env, Result


class MoreEndpoints(Base):
    """Endpoints of the app, second half; OPENAPI describes two of them."""

    def jsonp(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        cb = q.get("callback", "cb")
        if self.hardened and not re.fullmatch(r"[A-Za-z_$][\w$.]{0,64}", cb):
            return self.text("bad callback", "400 Bad Request")
        return self.text(f'{cb}({{"ok": 1}})', ctype="application/javascript")

    def fetch(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        url = q.get("url", "")
        own = f"http://{env['HTTP_HOST']}/health"
        if self.hardened and url != own:
            return self.text("only the health URL may be fetched", "400 Bad Request")
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            return self.text("this test app fetches loopback URLs only", "400 Bad Request")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return self.text(resp.read(2000).decode(errors="replace"))
        except Exception:
            return self.text("fetch failed", "502 Bad Gateway")

    def health(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        return self.text("ok")

    def share(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        page = q.get("page", "home")
        if self.hardened:
            href = "/view?" + urlencode({"page": page, "lang": "en"})
        else:
            href = f"/view?page={page}&lang=en"
        return self.page(f'<a href="{html.escape(href, quote=True)}">view</a>')

    def view(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        return self.page("<p>view</p>")

    def transfer(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if env["REQUEST_METHOD"] == "POST":
            if not self.token_ok(form):
                return self.text("forbidden: bad csrf token", "403 Forbidden")
            return self.page("<p>transferred</p>")
        return self.page(
            f"<form method='post' action='/transfer'>{self.form_token()}<input name='to' value='bob'>"
            "<input name='amount' value='1'><input type='submit' value='send'></form>"
        )

    def static(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if self.hardened:
            return self.text("not found", "404 Not Found")
        return self.page(
            "<title>Index of /static/</title><a href='/static/readme.txt'>readme.txt</a>"
        )

    def api_data(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        origin = env.get("HTTP_ORIGIN", "")
        extra = []
        if origin and not self.hardened:
            extra = [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
            ]
        status, h, body = self.text('{"items": [1, 2, 3]}', ctype="application/json")
        return status, h + extra, body

    def api_items(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        raw = q.get("id", "1")
        if self.hardened:
            if not raw.isdigit():
                return self.text('{"error": "bad id"}', "400 Bad Request", "application/json")
            rows = self.query("SELECT name FROM items WHERE id = ?", (int(raw),))
        else:
            try:
                rows = self.query(f"SELECT name FROM items WHERE id = {raw}")
            except sqlite3.Error as exc:
                return self.text(
                    f'{{"error": "sqlite3.OperationalError: {exc}"}}',
                    "500 Internal Server Error",
                    "application/json",
                )
        return self.text(json.dumps({"items": [r[0] for r in rows]}), ctype="application/json")

    def api_admin(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if self.hardened and env.get("HTTP_AUTHORIZATION") != "Bearer test-token":
            return self.text('{"error": "unauthorized"}', "401 Unauthorized", "application/json")
        return self.text('{"users": ["admin"]}', ctype="application/json")

    def git_head(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if self.hardened:
            return self.text("not found", "404 Not Found")
        return self.text("ref: refs/heads/main\n")

    def backup(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if self.hardened:
            return self.text("not found", "404 Not Found")
        return self.text("import sqlite3\n\ndef handler(env):\n    return db.execute(sql)\n")

    def openapi(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        return self.text(json.dumps(OPENAPI), ctype="application/json")


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "test api", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/v1/items": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "query", "schema": {"type": "integer", "example": 1}}
                ],
                "responses": {"200": {"description": "items"}},
            }
        },
        "/api/v1/admin/users": {
            "get": {"security": [{"bearer": []}], "responses": {"200": {"description": "users"}}}
        },
    },
}
