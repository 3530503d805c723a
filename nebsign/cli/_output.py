"""Helpers shared by the commands: text or --format json, progress, paths inside a tree."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

__all__ = [
    "emit_json",
    "format_option",
    "inside",
    "own_files",
    "progress",
    "quiet_option",
    "shown",
    "warn",
]

F = TypeVar("F", bound=Callable[..., Any])


def format_option(func: F) -> F:
    """Add ``--format text|json`` (parameter ``output_format``)."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format; json is stable and machine-readable.",
    )(func)


def quiet_option(func: F) -> F:
    """Add ``-q/--quiet`` (parameter ``quiet``): no progress, only results."""
    return click.option("-q", "--quiet", is_flag=True, help="No progress output.")(func)


def emit_json(value: Any) -> None:
    """Print *value* as sorted, indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def warn(message: str) -> None:
    """One warning line on stderr."""
    click.echo(f"nebsign: warning: {message}", err=True)


@contextmanager
def progress(
    description: str, total: int | None, *, quiet: bool = False, unit: str = "bytes"
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback; draws a bar on a TTY stderr only."""
    if quiet or not sys.stderr.isatty() or not total:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns: list[Any] = [BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(
        "[progress.description]{task.description}",
        *columns,
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def inside(path: str, root: str) -> str | None:
    """*path* relative to directory *root* (symlinks resolved) if it lies inside, else None.

    Used to leave a command's own files (the manifest, its bundles, the
    output) out of the tree they describe.
    """
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if real == real_root or os.path.commonpath([real, real_root]) != real_root:
        return None
    return os.path.relpath(real, real_root)


def own_files(tree: str, paths: list[str]) -> frozenset[str]:
    """The relative paths of *paths* that lie inside *tree* (to leave out of its check)."""
    return frozenset(rel for rel in (inside(p, tree) for p in paths) if rel is not None)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(text: str) -> str:
    """*text* safe to print on one line: control and unprintable characters escaped.

    A name from a file system or a file (a newline, an ANSI escape, bytes that
    are not UTF-8) cannot start a new line or drive the terminal; printable
    text comes out unchanged.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return "".join(out)
