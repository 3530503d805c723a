"""Escaping helpers, held by property tests against a real Markdown renderer."""

from __future__ import annotations

import html
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from nebsign.report.render import prose_html
from nebsign.report.text import fence, md_text, safe_url, visible

MD = MarkdownIt("commonmark", {"html": True}).enable("table")
SPECIAL = "\\`*_[]()<>#!|~&@$^:.-+=0123456789 \n\r\t/\"'{}%;\u202e\u200b\x00\x1bwW"
TEXT = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(), max_size=80)


def _expected(text: str) -> str:
    return re.sub(r"\s+", " ", visible(text)).strip()


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example("- a")
@example("+ a")
@example("* a")
@example("1. a")
@example("12) a")
@example("# a")
@example("> a")
@example("===")
@example("    code")
@example("<div>x</div>")
@example("[a](http://x.example)")
@example("`c`")
@example("&amp;")
@example("***")
@example("___")
@example("a  \\nb")
@example("<http://x.example>")
@example("![i](x.png)")
@example("\\\\")
@example("a | b")
def test_md_text_renders_as_exactly_the_text(text: str) -> None:
    for line in (md_text(text), "- Message: " + md_text(text)):
        out = MD.render(line)
        inner = re.sub(r"</?(p|ul|li)>", "", out).strip()
        assert "<" not in inner, (text, out)  # no tag at all: no link, HTML, heading, code
        assert html.unescape(inner).removeprefix("Message:").strip() == _expected(text), (text, out)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_md_text_cannot_break_a_table_cell(text: str) -> None:
    table = f"| a | b |\n|---|---|\n| {md_text(text)} | end |\n"
    out = MD.render(table)
    assert out.count("<td>") == 2 and out.count("<tr>") == 2, (text, out)
    assert "<a " not in out and "<script" not in out


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_prose_html_has_no_raw_html_and_only_http_links(text: str) -> None:
    out = str(prose_html(text))
    tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", out))
    assert tags <= {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "a", "br"}
    for href in re.findall(r'href="([^"]*)"', out):
        assert safe_url(html.unescape(href)) is not None, href


def test_visible_shows_bidi_and_invisible_characters() -> None:
    assert visible("abc") == "abc"
    assert visible("\u202eexe.txt") == "⟨U+202E⟩exe.txt"
    assert visible("a\u200bb\u2066c\ufeff") == "a⟨U+200B⟩b⟨U+2066⟩c⟨U+FEFF⟩"
    assert visible("tab\tnew\nline") == "tab\tnew\nline"
    assert visible("\x1b[31m") == "⟨U+001B⟩[31m"
    assert visible("\U000e0041") == "⟨U+E0041⟩"  # tag characters


def test_safe_url() -> None:
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://a b", "//a.example", 3, None):
        assert safe_url(bad) is None


def test_fence_is_longer_than_any_backtick_run() -> None:
    block = fence("a ```` b\n```", "sh")
    assert block.startswith("`````sh\n") and block.endswith("\n`````")
    out = MD.render(block)
    assert out.count("<pre>") == 1 and "a ```` b" in out
