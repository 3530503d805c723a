"""Helpers the active checks share: injecting a value, comparing responses,
finding where a marker would execute in HTML, error signatures."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, quote_plus

from nebsign.dast.checks.interface import CheckContext, Hit
from nebsign.dast.model import Endpoint, Param, RequestSpec, Response

__all__ = [
    "SQL_ERRORS",
    "Signature",
    "excerpt",
    "executes",
    "inject",
    "js_code_contains",
    "signature_probe",
    "similar",
    "strip_reflections",
]

SQL_ERRORS = re.compile(
    r"(sqlite3?\.(?:Operational|Programming)Error|SQLITE_ERROR|unrecognized token:|"
    r'near "[^"]{0,40}": syntax error|unterminated quoted string|'
    r"You have an error in your SQL syntax|mysql_fetch|MySQLSyntaxErrorException|"
    r"Warning: mysqli?_|pg_query\(\)|PG::SyntaxError|PSQLException|"
    r"syntax error at or near|ERROR:\s+unterminated|SQLSTATE\[|"
    r"Unclosed quotation mark after the character string|Microsoft OLE DB Provider for SQL|"
    r"ORA-\d{5}|quoted string not properly terminated|SQL command not properly ended)",
    re.IGNORECASE,
)


async def inject(
    ctx: CheckContext, endpoint: Endpoint, param: Param, value: str, *, timeout: float | None = None
) -> tuple[RequestSpec, Response | None]:
    """Send the endpoint with *param* set to *value* (others at their offered values)."""
    spec = endpoint.request({param.name: value}, only=param)
    resp = await ctx.send(spec, timeout=timeout)
    return spec, resp


@dataclass(frozen=True, slots=True)
class Signature:
    """A probe whose response shows a signature (an error text, a file's content)."""

    request: RequestSpec
    response: Response
    payload: str
    match: re.Match[str]

    def hit(self, param: Param, message: str, *, width: int = 120) -> list[Hit]:
        """This probe as a check's one hit; the proof is the response around the match."""
        proof = excerpt(self.response.text, self.match.group(0), width)
        return [Hit(self.request, self.response, param.name, self.payload, proof, message)]


async def signature_probe(
    ctx: CheckContext,
    endpoint: Endpoint,
    param: Param,
    payloads: Iterable[str],
    signature: re.Pattern[str],
    *,
    shared: bool = False,
) -> Signature | None:
    """The first of *payloads* in *param* whose response shows *signature*, where the
    endpoint's baseline response does not (None: no payload did, or the baseline does).

    *shared*: send through :meth:`CheckContext.cached` (probes other checks reuse).
    """
    base = await ctx.baseline(endpoint)
    if base is not None and signature.search(base.text):
        return None
    for payload in payloads:
        if shared:
            spec, resp = await ctx.cached(endpoint, param, payload)
        else:
            spec, resp = await inject(ctx, endpoint, param, payload)
        if resp is not None and (m := signature.search(resp.text)):
            return Signature(spec, resp, payload, m)
    return None


def excerpt(text: str, needle: str, width: int = 120) -> str:
    """The part of *text* around *needle* (at most ~2*width characters)."""
    i = text.find(needle)
    if i < 0:
        return text[: 2 * width]
    return text[max(0, i - width) : i + len(needle) + width]


def strip_reflections(text: str, values: Iterable[str]) -> str:
    """*text* without any echo of the injected *values* (raw, HTML- or URL-escaped)."""
    for v in values:
        if not v:
            continue
        forms = {
            v,
            html.escape(v),
            html.escape(v, quote=False),
            quote(v),
            quote_plus(v),
            v.replace("'", "&#39;"),
            v.replace("'", "&#x27;"),
        }
        for f in sorted(forms, key=len, reverse=True):
            text = text.replace(f, "")
    return text


def similar(a: str, b: str) -> float:
    """A 0..1 similarity of two bodies (1.0 when equal)."""
    if a == b:
        return 1.0
    if len(a) > 50_000 or len(b) > 50_000:
        a, b = a[:50_000], b[:50_000]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if len(a) + len(b) <= 40_000 else matcher.quick_ratio()


def js_code_contains(script: str, needle: str) -> bool:
    """Whether *needle* occurs in JavaScript *script* outside strings and comments."""
    i, n = 0, len(script)
    quote_char = ""
    code: list[str] = []
    while i < n:
        c = script[i]
        if quote_char:
            if c == "\\":
                i += 2
                continue
            if c == quote_char:
                quote_char = ""
            code.append(" ")
        elif c in "'\"`":
            quote_char = c
            code.append(" ")
        elif script.startswith("//", i):
            j = script.find("\n", i)
            i = n if j < 0 else j
            continue
        elif script.startswith("/*", i):
            j = script.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        else:
            code.append(c)
        i += 1
    return needle in "".join(code)


class _ExecFinder(HTMLParser):
    _URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data"})

    def __init__(self, call: str) -> None:
        super().__init__(convert_charrefs=True)
        self.call = call
        self.where: str | None = None
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if self.call not in value:
                continue
            if name.startswith("on"):
                self.where = self.where or f"<{tag} {name}=...>"
            elif name in self._URL_ATTRS and value.strip().lower().startswith("javascript:"):
                self.where = self.where or f"<{tag} {name}=javascript:...>"
        if tag == "script":
            self._script = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if js_code_contains("".join(self._script), self.call):
                self.where = self.where or "<script> code"
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)


def executes(page: str, call: str) -> str | None:
    """Where in *page* the JavaScript call *call* would run, or None.

    An event-handler attribute, a ``javascript:`` URL attribute, or script
    code outside string literals. (A browser may still not run it, e.g.
    inside ``<textarea>``: ``--browser`` confirms.)
    """
    if call not in page:
        return None
    finder = _ExecFinder(call)
    try:
        finder.feed(page)
        finder.close()
    except (AssertionError, ValueError):
        pass
    return finder.where
