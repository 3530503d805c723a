"""nebsign's own source checks read untrusted bytes: hits or an error, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.sast.sources import is_python_source, prepare, source_hits, text_lines


@settings(max_examples=300)
@given(st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: t.encode("utf-8")))
def test_source_checks_never_raise(data: bytes) -> None:
    hits, problem = source_hits(data)
    assert problem is None or isinstance(problem, str)
    lines = text_lines(data)
    for hit in hits:
        assert 1 <= hit.line <= len(lines)
    # prepare keeps Python's line count, so scanner lines are the file's lines
    assert prepare("m.py", data).count(b"\n") == len(lines) - 1
    assert prepare("m.pth", data).count(b"\n") == len(lines) - 1


def test_each_trick_is_named() -> None:
    assert [h.rule_id for h in source_hits(b"import os\ros.system(x)\n")[0]] == [
        "carriage-return-line-break"
    ]
    assert source_hits(b"a = 1\r\nb = 2\r\n") == ([], None)  # CRLF is a normal line ending
    coding = source_hits(b"# -*- coding: utf-7 -*-\nx = 1\n")[0]
    assert [h.rule_id for h in coding] == ["non-utf8-coding"]
    assert source_hits(b"# coding: utf-8\nx = 1\n") == ([], None)
    nfkc = source_hits("\uff4f\uff53.system(x)\nname = '\uff4f\uff53'\n".encode())[0]
    assert [(h.rule_id, h.line) for h in nfkc] == [("non-nfkc-identifier", 1)]  # not the string
    assert source_hits(b"\xff\xfe\x00binary")[1] is not None


def test_python_by_name_or_shebang() -> None:
    assert is_python_source("a/b.pth", b"", False)
    assert is_python_source("bin/tool", b"#!/usr/bin/env python3\n", False)
    assert is_python_source("bin/tool.cgi", b"#!/usr/bin/python3.11 -u\n", True)
    assert not is_python_source("bin/tool.cgi", b"#!/usr/bin/python3\n", False)
    assert not is_python_source("bin/run", b"#!/bin/sh\n", True)
