"""The output flags of a command that judges findings: a baseline to write, a statement to sign.

``@baseline_options()`` adds ``--write-baseline``, ``--who``, ``--why`` and ``--until``
and hands the command one keyword argument, ``accept`` (an
:class:`~nebsign.verdict_files.Acceptance`, or None without ``--write-baseline``);
:func:`verdict_outputs` turns those and the ``--sarif``/``--attest``/``--key`` flags
into the :class:`~nebsign.verdict_files.VerdictOutputs` the library writes.
``scan sast``, ``scan dast`` and ``audit`` share them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nebsign.cli._output import warn
from nebsign.errors import InputError

if TYPE_CHECKING:
    from nebsign.verdict_files import Acceptance, VerdictOutputs, Writer

__all__ = ["baseline_options", "parse_date", "report_accepted", "verdict_outputs"]

F = TypeVar("F", bound=Callable[..., Any])


def parse_date(text: str | None, what: str) -> date | None:
    """A date flag's value (``2026-12-31``), or None when the flag is absent."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not a date like 2026-12-31") from exc


def baseline_options(*, allow_dash: bool = False) -> Callable[[F], F]:
    """Add ``--write-baseline PATH``, ``--who``, ``--why``, ``--until``; the command
    receives them as ``accept: Acceptance | None`` (``--who`` and ``--why`` required)."""
    options = (
        click.option(
            "--write-baseline",
            "write_baseline",
            type=click.Path(dir_okay=False, allow_dash=allow_dash, path_type=Path),
            help="Write a baseline accepting every open finding (needs --who, --why; "
            "--until), then exit 0.",
        ),
        click.option("--who", help="Who accepts (with --write-baseline)."),
        click.option("--why", help="Why it is acceptable (with --write-baseline)."),
        click.option("--until", "until_text", help="Acceptance expiry date, e.g. 2026-12-31."),
    )

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            path: Path | None = kwargs.pop("write_baseline")
            who, why = kwargs.pop("who"), kwargs.pop("why")
            until_text = kwargs.pop("until_text")
            accept = None
            if path is not None:
                from nebsign.verdict_files import Acceptance

                if not (who and why):
                    raise click.UsageError("--write-baseline needs --who and --why")
                accept = Acceptance(path, who, why, parse_date(until_text, "--until"))
            return func(*args, accept=accept, **kwargs)

        wrapped: Any = command
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def verdict_outputs(
    *,
    sarif_path: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    accept: Acceptance | None = None,
    write: Writer | None = None,
) -> VerdictOutputs:
    """The outputs the flags ask for; the key is loaded (its passphrase asked for)
    only when the statement is signed. ``--attest`` without ``--key`` is a usage error."""
    from nebsign.verdict_files import VerdictOutputs

    if attest_path is not None and key_path is None:
        raise click.UsageError("--attest needs --key")

    def signing_key() -> Any:
        from nebsign.cli._keyopts import load_signing_key

        return load_signing_key(str(key_path), passphrase_fd)

    outputs = VerdictOutputs(
        sarif=sarif_path,
        attest=attest_path,
        accept=accept,
        signing_key=signing_key if key_path is not None else None,
    )
    if write is not None:
        from dataclasses import replace

        outputs = replace(outputs, write=write)
    return outputs


def report_accepted(accepted: int | None, accept: Acceptance | None, *, quiet: bool) -> None:
    """The warning line after ``--write-baseline`` wrote its file."""
    if accepted is not None and accept is not None and not quiet:
        warn(f"wrote {accepted} accepted finding(s) to {accept.path}")
