"""The output flags of a command that judges findings: a baseline to write, a statement to sign.

``@baseline_options()`` adds ``--write-baseline``, ``--who``, ``--why`` and ``--until``;
``@outputs_param()`` (directly above the command function) turns those, ``--sarif``
and ``@attest_options``' ``--attest``/``--key``/``--passphrase-fd`` into one keyword
argument, ``outputs``: the :class:`~nebsign.verdict_files.VerdictOutputs` the library
writes. ``scan sast``, ``scan dast`` and ``audit`` share them.
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
    from nebsign.keys import PrivateKey
    from nebsign.verdict_files import Acceptance, Writer

__all__ = [
    "baseline_options",
    "outputs_param",
    "parse_date",
    "report_accepted",
]

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
    """Add ``--write-baseline PATH``, ``--who``, ``--why``, ``--until``; with
    :func:`outputs_param` the command receives them in ``outputs.accept``."""
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
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _acceptance(kwargs: dict[str, Any]) -> Acceptance | None:
    """Pop ``@baseline_options``' flags: an Acceptance, or None without --write-baseline."""
    if "write_baseline" not in kwargs:
        return None
    path: Path | None = kwargs.pop("write_baseline")
    who, why, until_text = kwargs.pop("who"), kwargs.pop("why"), kwargs.pop("until_text")
    if path is None:
        return None
    from nebsign.verdict_files import Acceptance

    if not (who and why):
        raise click.UsageError("--write-baseline needs --who and --why")
    return Acceptance(path, who, why, parse_date(until_text, "--until"))


def outputs_param(*, write: Writer | None = None) -> Callable[[F], F]:
    """Hand the command ``outputs: VerdictOutputs`` in place of the ``sarif_path``,
    ``attest_path``, ``key_path`` and ``passphrase_fd`` (``@attest_options``) and
    ``write_baseline``, ``who``, ``why``, ``until_text`` (``@baseline_options``, if
    used) keyword arguments: ``--attest`` without ``--key`` and ``--write-baseline``
    without ``--who`` and ``--why`` are usage errors. The key is loaded (its
    passphrase asked for) only when the statement is signed, after the scan.

    Put it directly above the command function, below ``@needs_extra``, so a
    missing extra is reported first. *write*: the writer of every output
    (default: :func:`nebsign._internal.atomic.write_output`, files only).
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            from dataclasses import replace

            from nebsign.verdict_files import VerdictOutputs

            sarif_path: Path | None = kwargs.pop("sarif_path")
            attest_path: Path | None = kwargs.pop("attest_path")
            key_path: Path | None = kwargs.pop("key_path")
            passphrase_fd: int | None = kwargs.pop("passphrase_fd")
            if attest_path is not None and key_path is None:
                raise click.UsageError("--attest needs --key")

            def signing_key() -> PrivateKey:
                from nebsign.cli._keyopts import load_signing_key

                return load_signing_key(str(key_path), passphrase_fd)

            outputs = VerdictOutputs(
                sarif=sarif_path,
                attest=attest_path,
                accept=_acceptance(kwargs),
                signing_key=signing_key if key_path is not None else None,
            )
            if write is not None:
                outputs = replace(outputs, write=write)
            return func(*args, outputs=outputs, **kwargs)

        return command  # type: ignore[return-value]

    return decorate


def report_accepted(accepted: int | None, accept: Acceptance | None, *, quiet: bool) -> None:
    """The warning line after ``--write-baseline`` wrote its file."""
    if accepted is not None and accept is not None and not quiet:
        warn(f"wrote {accepted} accepted finding(s) to {accept.path}")
