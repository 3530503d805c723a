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
    "emit_refusal",
    "format_option",
    "inside",
    "is_stdout",
    "json_pending",
    "note_argv",
    "one_stdout",
    "progress",
    "quiet_option",
    "reset_state",
    "shown",
    "warn",
    "write_output",
]

F = TypeVar("F", bound=Callable[..., Any])


#: What the running command asked for and did: the error boundary prints a
#: refusal as JSON on stdout when ``--format json`` was asked for and the
#: command had not printed its own report yet.
_json = {"requested": False, "emitted": False}


def reset_state() -> None:
    """Forget the previous run's format (one process may run the CLI many times)."""
    _json.update(requested=False, emitted=False)


def note_argv(argv: list[str]) -> None:
    """Remember ``--format json`` from the raw arguments, for errors click raises while
    parsing, before the option's own callback ran (an unknown option, say)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--format=json" or (arg == "--format" and argv[i + 1 : i + 2] == ["json"]):
            _json["requested"] = True


def json_pending() -> bool:
    """True when ``--format json`` was asked for and nothing was printed as JSON yet."""
    return _json["requested"] and not _json["emitted"]


def _remember_format(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value == "json":
        _json["requested"] = True
    return value


def format_option(func: F) -> F:
    """Add ``--format text|json`` (parameter ``output_format``).

    With json, every outcome is JSON on stdout: the command's report, or (from
    the error boundary) ``{"ok": false, "reason", "message", "exit_code"}``.
    """
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        callback=_remember_format,
        help="Output format; json is stable and machine-readable, on every outcome.",
    )(func)


def quiet_option(func: F) -> F:
    """Add ``-q/--quiet`` (parameter ``quiet``): no progress, only results."""
    return click.option("-q", "--quiet", is_flag=True, help="No progress output.")(func)


def emit_json(value: Any) -> None:
    """Print *value* as sorted, indented JSON on stdout."""
    _json["emitted"] = True
    click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def emit_refusal(reason: str, message: str, exit_code: int) -> None:
    """The JSON form of an outcome that ended in an error (see :func:`format_option`)."""
    emit_json({"ok": False, "reason": reason, "message": message, "exit_code": exit_code})


def warn(message: str) -> None:
    """One warning line on stderr (escaped: a name in it cannot start another line)."""
    click.echo(f"nebsign: warning: {shown(message)}", err=True)


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


def shown(text: str) -> str:
    """*text* safe to print on one line (:func:`nebsign._internal.display.display_path`).

    A name from a file system or a file (a newline, an ANSI escape, bytes that
    are not UTF-8, an NFD twin of an NFC name) cannot start a new line, drive
    the terminal or pass for another name; printable NFC text comes out unchanged.
    """
    from nebsign._internal.display import display_path

    return display_path(text)


def write_output(path: str | os.PathLike[str], data: bytes) -> None:
    """Write an output option's bytes: ``-`` is stdout; a device, FIFO or symlink is
    written through, never replaced (:func:`nebsign._internal.atomic.write_output`)."""
    from nebsign._internal.atomic import write_output as write_file

    if is_stdout(path):  # '-', /dev/stdout: through our own stdout (a `>>` keeps appending)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_file(path, data)


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """True for ``-`` and the names of this process's stdout (``/dev/stdout``, ``/dev/fd/1``)."""
    name = os.fspath(path)
    return name == "-" or os.path.normpath(name) in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def one_stdout(*paths: str | os.PathLike[str] | None) -> bool:
    """True if one output goes to stdout (``-``, ``/dev/stdout``); more is a usage error."""
    dashes = sum(1 for p in paths if p is not None and is_stdout(p))
    if dashes > 1:
        raise click.UsageError("only one output can be '-' (stdout)")
    return dashes == 1
