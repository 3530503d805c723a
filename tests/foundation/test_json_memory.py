"""Issue 17.3: JSON memory is bounded by the input, not by the parser.

A 64 MiB manifest of ``[{},{},...]`` took 1.8 GB to refuse: everything was
parsed before any schema check. Now :func:`parse_json_object` estimates the
objects a document would make before parsing and refuses more than
``MAX_MEMORY_RATIO`` times its size. tracemalloc measures what parsing really
allocates; each shape is either refused or stays under the bound.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign._internal.canonical import (
    MAX_MEMORY_RATIO,
    MEMORY_SLACK,
    memory_estimate,
    parse_json_object,
)
from nebsign.errors import InputError

SIZE = 512 * 1024


def _array(item: Callable[[int], bytes]) -> bytes:
    parts, total, i = [], 0, 0
    while total < SIZE:
        chunk = item(i)
        parts.append(chunk)
        total += len(chunk) + 1
        i += 1
    return b'{"a":[' + b",".join(parts) + b"]}"


SHAPES: dict[str, bytes] = {
    "empty objects": _array(lambda i: b"{}"),
    "empty lists": _array(lambda i: b"[]"),
    "empty strings": _array(lambda i: b'""'),
    "small ints": _array(lambda i: b"0"),
    "big ints": _array(lambda i: str(10**6 + i).encode()),
    "floats": _array(lambda i: b"1.5"),
    "short strings": _array(lambda i: b'"%d"' % i),
    "one-key objects": _array(lambda i: b'{"k":%d}' % i),
    "padded empty objects": _array(lambda i: b"{}" + b" " * 4),
    "padded strings": _array(lambda i: b'"%d"' % i + b" " * 3),
    "nested lists": _array(lambda i: b"[[[[]]]]"),
    "many keys": b"{" + b",".join(b'"k%d":0' % i for i in range(SIZE // 9)) + b"}",
    "manifest entries": _array(
        lambda i: b'{"path":"d/f%06d","sha256":"%s","size":%d}' % (i, b"a" * 64, i)
    ),
    "symlink entries": _array(lambda i: b'{"path":"bin/l%06d","target":"../app/run"}' % i),
    "tiny symlink entries": _array(lambda i: b'{"path":"%d","target":"t"}' % i),
}


def _peak(raw: bytes) -> int | None:
    """Peak bytes traced while parsing *raw*, or None if it was refused."""
    gc.collect()
    tracemalloc.start()
    try:
        parse_json_object(raw, "doc")
    except InputError:
        return None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_parsing_is_refused_or_bounded(shape: str) -> None:
    raw = SHAPES[shape]
    peak = _peak(raw)
    # the decoded text (up to 1x for ASCII) is traced too
    assert peak is None or peak <= (MAX_MEMORY_RATIO + 2) * len(raw) + MEMORY_SLACK, (shape, peak)


def test_the_reported_shapes_are_refused() -> None:
    for shape in ("empty objects", "empty lists", "one-key objects", "nested lists"):
        with pytest.raises(InputError, match="too many JSON values"):
            parse_json_object(SHAPES[shape], "doc")


def test_real_documents_pass() -> None:
    for shape in ("manifest entries", "symlink entries", "small ints", "floats", "big ints"):
        assert parse_json_object(SHAPES[shape], "doc")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"{}", b"[]", b'""', b"0", b"1e5", b'"ab"', b'{"x":[]}', b"[0,[]]", b" "]),
        min_size=1,
        max_size=40,
    ),
)
def test_any_mix_is_refused_or_bounded(tokens: list[bytes]) -> None:
    unit = b",".join(t for t in tokens if t.strip()) or b"0"
    raw = b'{"a":[' + b",".join([unit] * max(1, 64 * 1024 // len(unit))) + b"]}"
    peak = _peak(raw)
    assert peak is None or peak <= (MAX_MEMORY_RATIO + 2) * len(raw) + MEMORY_SLACK, (unit, peak)
    assert memory_estimate(raw) >= 0
