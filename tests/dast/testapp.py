# ruff: noqa: E501 - long literal HTML and SQL lines read better whole in this test app
"""The deliberately vulnerable test application and its hardened twin (one endpoint per class).

``make_app(hardened=False)`` is vulnerable on purpose; ``make_app(hardened=True)``
serves the same endpoints done right. WSGI, sqlite, XML and jinja2 templates.
Never expose it beyond 127.0.0.1.
"""

from __future__ import annotations

import html
import io
import ipaddress
import json
import re
import sqlite3
import subprocess
import traceback
import xml.etree.ElementTree as ET
import xml.sax
from pathlib import Path

import jinja2
from dast.testapp_base import Env, Result
from dast.testapp_more import OPENAPI, MoreEndpoints

__all__ = ["OPENAPI", "App", "make_app"]

FILES = Path(__file__).parent / "appfiles"

INDEX_LINKS = [
    "/search?q=hello",
    "/profile?name=bob",
    "/greet?who=bob",
    "/link?url=/search",
    "/guestbook",
    "/dom",
    "/item?id=1",
    "/product?name=apple",
    "/track?id=1",
    "/login",
    "/ping?host=127.0.0.1",
    "/file?name=readme.txt",
    "/go?next=/search",
    "/lang?set=en",
    "/hello?name=guest",
    "/xml",
    "/xpath?user=alice",
    "/jsonp?callback=show",
    "/share?page=home",
    "/transfer",
    "/static/",
    "/api/data",
]
USERS_XML = "<users><user name='alice' role='admin'/><user name='bob' role='user'/></users>"


class App(MoreEndpoints):
    """The app: vulnerable, or (hardened=True) its twin."""

    def index(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        urls = [*INDEX_LINKS, f"/fetch?url=http://{env['HTTP_HOST']}/health"]
        links = "".join(f'<li><a href="{html.escape(u)}">{html.escape(u)}</a></li>' for u in urls)
        cookie = "session=abc123; Path=/" + ("; HttpOnly; SameSite=Lax" if self.hardened else "")
        body = f"<h1>shop</h1><ul>{links}</ul><form action='/search'><input name='q'></form>"
        return self.page(body, extra=[("Set-Cookie", cookie)])

    def search(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        return self.page(f"<p>Results for {self.esc(q.get('q', ''))}</p>")

    def profile(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        value = html.escape(q.get("name", ""), quote=True) if self.hardened else q.get("name", "")
        return self.page(f'<form><input name="name" value="{value}"></form>')

    def greet(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        who = q.get("who", "")
        if self.hardened:
            literal = (
                json.dumps(who)
                .replace("<", "\\u003c")
                .replace(">", "\\u003e")
                .replace("&", "\\u0026")
            )
        else:
            literal = f"'{who}'"
        return self.page(
            f"<p id='g'></p><script>var who = {literal}; document.getElementById('g').textContent = who;</script>"
        )

    def link(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        url = q.get("url", "/")
        if self.hardened and not (url.startswith("/") and not url.startswith("//")):
            url = "/"
        return self.page(f'<a href="{html.escape(url, quote=True)}">continue</a>')

    def guestbook(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if env["REQUEST_METHOD"] == "POST":
            if not self.token_ok(form):
                return self.text("forbidden: bad csrf token", "403 Forbidden")
            with self.lock:
                self.comments = ([*self.comments, form.get("comment", "")[:500]])[-50:]
            return "303 See Other", [*self.headers(), ("Location", "/guestbook")], b""
        items = "".join(f"<li>{self.esc(c)}</li>" for c in self.comments)
        return self.page(
            f"<ul>{items}</ul><form method='post' action='/guestbook'>{self.form_token()}"
            "<textarea name='comment'></textarea><input type='submit' value='post'></form>"
        )

    def dom(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        sink = "textContent" if self.hardened else "innerHTML"
        return self.page(
            "<div id='out'></div><script>var h = decodeURIComponent(location.hash.slice(1));"
            f"document.getElementById('out').{sink} = h;</script>"
        )

    def item(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        raw = q.get("id", "1")
        if self.hardened:
            if not raw.isdigit():
                return self.text("bad id", "400 Bad Request")
            rows = self.query("SELECT name FROM items WHERE id = ?", (int(raw),))
        else:
            try:
                rows = self.query(f"SELECT name FROM items WHERE id = {raw}")
            except sqlite3.Error:
                return self.text(
                    "database error:\n" + traceback.format_exc(), "500 Internal Server Error"
                )
        return self.page(f"<p>{self.esc(rows[0][0]) if rows else 'no item'}</p>")

    def product(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        name = q.get("name", "")
        try:
            if self.hardened:
                rows = self.query("SELECT name, price FROM items WHERE name = ?", (name,))
            else:
                rows = self.query(f"SELECT name, price FROM items WHERE name = '{name}'")
        except sqlite3.Error:
            rows = []
        body = "".join(f"<li>{self.esc(str(n))}: {self.esc(str(p))}</li>" for n, p in rows)
        return self.page(f"<ul>{body or '<li>no product</li>'}</ul>")

    def track(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        raw = q.get("id", "1")
        try:
            if self.hardened:
                self.query("SELECT count(*) FROM items WHERE id = ?", (raw,))
            else:
                self.query(f"SELECT count(*) FROM items WHERE id = {raw}")
        except sqlite3.Error:
            pass
        return self.page("<p>tracked</p>")

    def login(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if env["REQUEST_METHOD"] == "POST":
            if not self.token_ok(form):
                return self.text("forbidden: bad csrf token", "403 Forbidden")
            user, pw = form.get("username", ""), form.get("password", "")
            try:
                if self.hardened:
                    rows = self.query(
                        "SELECT username FROM users WHERE username = ? AND password = ?", (user, pw)
                    )
                else:
                    rows = self.query(
                        f"SELECT username FROM users WHERE username = '{user}' AND password = '{pw}'"
                    )
            except sqlite3.Error:
                rows = []
            if rows:
                flags = "; HttpOnly; SameSite=Lax" if self.hardened else ""
                return (
                    "302 Found",
                    [*self.headers(), ("Location", "/account"), ("Set-Cookie", f"auth=ok{flags}")],
                    b"",
                )
            return self.page("<p>invalid credentials</p>")
        return self.page(
            f"<form method='post' action='/login'>{self.form_token()}<input name='username'>"
            "<input type='password' name='password'><input type='submit' value='login'></form>"
        )

    def ping(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        host = q.get("host", "")
        if self.hardened:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return self.text("invalid host", "400 Bad Request")
            return self.text(f"pinging {host}")
        if "\x00" in host:
            return self.text("bad host", "400 Bad Request")
        out = subprocess.run(
            f"echo pinging {host}", shell=True, capture_output=True, timeout=10, check=False
        )
        return self.text(out.stdout.decode(errors="replace"))

    def file(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        name = q.get("name", "")
        if self.hardened:
            if name not in ("readme.txt",):
                return self.text("no such file", "404 Not Found")
            path = FILES / name
        else:
            path = Path(str(FILES) + "/" + name.replace("\x00", ""))
        try:
            return self.text(path.read_text(errors="replace")[:20000])
        except OSError:
            return self.text("no such file", "404 Not Found")

    def go(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        target = q.get("next", "/")
        if self.hardened and not re.fullmatch(r"/(?![/\\])[\w/.?=&%-]*", target):
            target = "/"
        return "302 Found", [*self.headers(), ("Location", target)], b""

    def lang(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        value = q.get("set", "en")
        if self.hardened and not re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", value):
            value = "en"
        return "200 OK", [*self.headers(), ("Content-Language", value)], self.page("<p>ok</p>")[2]

    def hello(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        name = q.get("name", "")
        if self.hardened:
            return self.page(self.jinja.from_string("<p>Hello {{ name }}!</p>").render(name=name))
        try:
            return self.page(jinja2.Template("<p>Hello " + name + "!</p>").render())
        except jinja2.TemplateError:
            return self.page("<p>template error</p>")

    def xml(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        if env["REQUEST_METHOD"] != "POST":
            return self.page(
                f"<form method='post' action='/xml'>{self.form_token()}"
                "<textarea name='doc'>&lt;order&gt;&lt;item&gt;1&lt;/item&gt;&lt;/order&gt;</textarea>"
                "<input type='submit' value='send'></form>"
            )
        if not self.token_ok(form):
            return self.text("forbidden: bad csrf token", "403 Forbidden")
        doc = form.get("doc", "")
        if self.hardened and "<!DOCTYPE" in doc.upper():
            return self.text("DTDs are not accepted", "400 Bad Request")
        parts: list[str] = []

        class H(xml.sax.ContentHandler):
            def characters(self, content: str) -> None:
                parts.append(content)

        parser = xml.sax.make_parser()
        parser.setFeature(xml.sax.handler.feature_external_ges, not self.hardened)
        parser.setContentHandler(H())
        try:
            parser.parse(io.BytesIO(doc.encode()))
        except (xml.sax.SAXException, OSError, ValueError):
            return self.text("invalid XML", "400 Bad Request")
        return self.text("parsed: " + "".join(parts)[:5000])

    def xpath(self, q: dict[str, str], form: dict[str, str], env: Env) -> Result:
        user = q.get("user", "")
        if self.hardened and not re.fullmatch(r"\w{1,32}", user):
            return self.text("unknown user", "404 Not Found")
        root = ET.fromstring(USERS_XML)
        try:
            found = root.findall(f".//user[@name='{user}']")
        except SyntaxError as exc:
            return self.text(f"XPath error: {exc}", "500 Internal Server Error")
        return self.page(
            "".join(f"<p>{self.esc(u.get('role', ''))}</p>" for u in found) or "<p>none</p>"
        )

    ROUTES: dict[str, str] = {
        "/": "index",
        "/search": "search",
        "/profile": "profile",
        "/greet": "greet",
        "/link": "link",
        "/guestbook": "guestbook",
        "/dom": "dom",
        "/item": "item",
        "/product": "product",
        "/track": "track",
        "/login": "login",
        "/ping": "ping",
        "/file": "file",
        "/go": "go",
        "/lang": "lang",
        "/hello": "hello",
        "/xml": "xml",
        "/xpath": "xpath",
        "/jsonp": "jsonp",
        "/fetch": "fetch",
        "/health": "health",
        "/share": "share",
        "/view": "view",
        "/transfer": "transfer",
        "/static/": "static",
        "/api/data": "api_data",
        "/api/v1/items": "api_items",
        "/api/v1/admin/users": "api_admin",
        "/.git/HEAD": "git_head",
        "/app.py.bak": "backup",
        "/openapi.json": "openapi",
    }


def make_app(hardened: bool = False) -> App:
    return App(hardened)
