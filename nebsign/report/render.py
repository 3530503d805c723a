"""Renderers: the ``report.json`` document -> ``index.html``, ``report.md``, ``report.json``.

Renderers read only the document (so ``report verify`` can re-render from
the signed JSON) and return bytes; they are deterministic. Templates are
package data (``templates/``), rendered by jinja2:

* HTML: autoescape on for every template, no ``|safe`` on untrusted data.
  Prose fields (message, recommendation) go through markdown-it-py with raw
  HTML off, images off and links only to ``http(s)``; the only ``Markup``
  values are that renderer's output and the page's own stylesheet. A strict
  Content-Security-Policy (no script, no external anything; the stylesheet
  allowed by its hash) is the first thing in ``<head>``.
* Markdown: every ``{{ }}`` output passes :func:`~nebsign.report.text.md_text`
  (``finalize``), so a finding cannot inject links, headings or HTML; only
  fenced blocks the renderer builds itself (:class:`~nebsign.report.text.Raw`)
  are passed through.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from nebsign._internal.extras import import_from_extra
from nebsign.report.chart import GROUPS, SEVERITIES, severity_chart, trend_chart
from nebsign.report.text import Raw, fence, md_text, safe_url, visible

if TYPE_CHECKING:
    import jinja2
    from markdown_it import MarkdownIt

__all__ = ["OUTPUTS", "render_all", "render_html", "render_json", "render_markdown"]

OUTPUTS = ("index.html", "report.md", "report.json")
_PLAIN = re.compile(r"[\\`*_\[\]<>&\n\r]|^[\s\-+*#>0-9=]")


@functools.cache
def _markdown() -> MarkdownIt:
    import_from_extra("markdown_it", "report", "the report")  # exit 3 with the pip line
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # prose stays inside its finding: no images, no raw HTML, no headings or rules
    md.disable(["image", "html_block", "html_inline", "heading", "lheading", "hr"])
    md.validateLink = lambda url: safe_url(url) is not None  # type: ignore[method-assign]
    return md


def prose_html(value: object) -> Any:
    """Untrusted Markdown prose as HTML: raw HTML off, http(s) links only, no images."""
    from markupsafe import Markup

    # markdown-it escaped every text node itself and emits no raw HTML (html=False)
    return Markup(_prose(value if isinstance(value, str) else str(value)))  # noqa: S704  # nosec B704 -- markdown-it output, html=False


@functools.lru_cache(maxsize=8192)
def _prose(raw: str) -> str:
    """HTML of one prose text (cached: findings of one rule repeat the same text)."""
    from markupsafe import escape

    text = visible(raw)
    if not text:
        return ""
    if not _PLAIN.search(text):
        return f"<p>{escape(text)}</p>"
    html = _markdown().render(text)
    return str(html).replace("<a href=", '<a rel="nofollow noopener noreferrer" href=')


def _size(n: object) -> str:
    value = float(n) if isinstance(n, int) else 0.0
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _common_env(*, autoescape: bool, **kwargs: Any) -> jinja2.Environment:
    import_from_extra("jinja2", "report", "the report")  # exit 3 with the pip line
    import jinja2

    env = jinja2.Environment(
        # HTML: True. Markdown: False, and every output escaped by `finalize` instead.
        autoescape=autoescape,  # noqa: S701  # nosec B701 -- on for HTML; Markdown escapes in finalize
        loader=jinja2.PackageLoader("nebsign.report", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **kwargs,
    )
    env.filters.update(
        vis=visible, url=safe_url, size=_size, json=_json_text, prose=prose_html, fence=fence
    )
    env.globals.update(SEVERITIES=SEVERITIES, GROUPS=GROUPS)
    return env


@functools.cache
def _html_env() -> jinja2.Environment:
    return _common_env(autoescape=True)


def _md_finalize(value: object) -> str:
    if isinstance(value, Raw):
        return str(value)
    return md_text("" if value is None else value)


@functools.cache
def _md_env() -> jinja2.Environment:
    return _common_env(autoescape=False, finalize=_md_finalize)


def _context(doc: dict[str, Any]) -> dict[str, Any]:
    findings = doc["findings"]
    return {
        "doc": doc,
        "rel": doc["release"],
        "chart": severity_chart(doc["summary"]),
        "trend": trend_chart(doc["trend"]),
        "by_group": {g: [f for f in findings if f["group"] == g] for g in GROUPS},
    }


def render_html(doc: dict[str, Any]) -> bytes:
    """``index.html``: static, self-contained, strict CSP, no JavaScript."""
    env = _html_env()
    css = env.get_template("report.css").render().strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    from markupsafe import Markup

    html = env.get_template("report.html.j2").render(
        css=Markup(css),  # noqa: S704  # nosec B704 -- the package's own stylesheet, no data
        csp_hash=f"sha256-{digest}",
        **_context(doc),
    )
    return html.encode("utf-8")


def render_markdown(doc: dict[str, Any]) -> bytes:
    """``report.md``: the same content as Markdown, every untrusted string escaped."""
    return _md_env().get_template("report.md.j2").render(**_context(doc)).encode("utf-8")


def render_json(doc: dict[str, Any]) -> bytes:
    """``report.json``, the signed source of the other two: deterministic JSON.

    Sorted keys, no whitespace, ASCII only (everything else as ``\\u`` escapes,
    lone surrogates included), one trailing newline. Python's float ``repr``
    is the shortest round-trip form, the same on every platform.
    """
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii") + b"\n"


def render_all(doc: dict[str, Any]) -> dict[str, bytes]:
    """Every output file by name, rendered from *doc* as its canonical JSON reads back."""
    raw = render_json(doc)
    parsed = json.loads(raw)  # the renderers see exactly what `report verify` will see
    return {
        "index.html": render_html(parsed),
        "report.md": render_markdown(parsed),
        "report.json": raw,
    }
