"""A tiny sample shop service for `nebsign demo`'s DAST step (WSGI, sqlite, stdlib only).

`make_app(fixed=False)` has three classic flaws on purpose (reflected XSS, SQL
injection, an open redirect) and no security headers; `make_app(fixed=True)`
is the same service done right. Serve it on 127.0.0.1 only.
"""

from __future__ import annotations

import html
import sqlite3
from urllib.parse import parse_qs


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"
        "INSERT INTO items VALUES (1, 'tea'), (2, 'coffee');"
    )
    return conn


def make_app(fixed: bool = False):
    def page(body: str) -> bytes:
        return f"<!doctype html><html><body>{body}</body></html>".encode()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if fixed:
            headers += [
                ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
                ("X-Frame-Options", "DENY"),
                ("X-Content-Type-Options", "nosniff"),
                ("Server", "shop"),
            ]
        status = "200 OK"
        if path == "/":
            body = page(
                "<h1>shop</h1><a href='/search?q=tea'>search</a> <a href='/item?id=1'>item</a> "
                "<a href='/go?next=/item?id=2'>next</a>"
            )
        elif path == "/search":
            term = q.get("q", "")
            body = page(f"<p>results for {html.escape(term) if fixed else term}</p>")
        elif path == "/item":
            raw = q.get("id", "1")
            db = _db()
            try:
                if fixed:
                    rows = db.execute("SELECT name FROM items WHERE id = ?", (raw,)).fetchall()
                else:
                    rows = db.execute(f"SELECT name FROM items WHERE id = {raw}").fetchall()
                body = page(f"<p>{html.escape(rows[0][0]) if rows else 'none'}</p>")
            except sqlite3.Error as exc:
                status, body = "500 Internal Server Error", page(f"sqlite3.OperationalError: {exc}")
            finally:
                db.close()
        elif path == "/go":
            target = q.get("next", "/")
            unsafe = not target.startswith("/") or target.startswith(("//", "/\\"))
            if fixed and (unsafe or any(c in target for c in "\r\n")):
                target = "/"
            start_response("302 Found", headers + [("Location", target)])
            return [b""]
        else:
            status, body = "404 Not Found", page("not found")
        start_response(status, headers)
        return [body]

    return app
