"""The one escaping helper (``_internal/display.py``): every use shares one character map."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from nebsign._internal.display import display_path, printable, quoted, safe_line
from nebsign.gate.series import printable as gate_printable

# names as file systems and files hand them over: any code point, lone surrogates included
names = st.text(st.characters(blacklist_categories=()), max_size=40)


@given(names)
def test_every_form_is_one_printable_line(name: str) -> None:
    for out in (display_path(name), printable(name), quoted(name), safe_line(name)):
        assert out.isprintable()
        out.encode("utf-8")  # no lone surrogate reaches an encoder


@given(names)
def test_one_character_map(name: str) -> None:
    """Where a name needs escaping at all, the path, log and quoted forms escape it alike."""
    if not name.isprintable() and unicodedata.is_normalized("NFC", name):
        assert display_path(name) == printable(name, limit=len(name))
    if '"' not in name:
        assert quoted(name) == printable(name, limit=len(name))


@given(names, names)
def test_distinct_names_stay_distinct(a: str, b: str) -> None:
    if a != b:
        assert display_path(a) != display_path(b) or a.isprintable() != b.isprintable()
        assert quoted(a) != quoted(b)


def test_the_escapes() -> None:
    assert display_path("a\x1b[31m\nb") == "a\\x1b[31m\\nb"
    assert display_path("cafe\u0301") == "cafe\\u0301"  # an NFD twin is marked
    assert display_path("caf\u00e9") == "caf\u00e9"
    assert printable("x\udcff\u202e") == "x\\xff\\u202e"
    assert quoted('say "hi"\t') == 'say \\"hi\\"\\t'
    assert gate_printable is quoted  # the gate's label escaping is this one
    assert printable("a" * 10, limit=4) == "aaaa..."
    assert safe_line(printable("a\nb")) == "a\\nb"
