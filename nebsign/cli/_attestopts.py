"""`--attest`, `--key`, `--passphrase-fd`: the flags of a command that can sign its verdict.

Kept apart from ``_keyopts.py`` (which loads keys, and so imports ``cryptography``)
so that adding the flags costs a command nothing until it actually signs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["attest_options"]

F = TypeVar("F", bound=Callable[..., Any])


def attest_options(statement: str, *, allow_dash: bool = False) -> Callable[[F], F]:
    """Add ``--attest PATH``, ``--key PRIVATE`` and ``--passphrase-fd N``.

    The command receives ``attest_path``, ``key_path`` (both ``Path | None``) and
    ``passphrase_fd``; *statement* names what is signed (e.g. ``"SAST_V1"``).
    """
    options = (
        click.option(
            "--attest",
            "attest_path",
            type=click.Path(dir_okay=False, allow_dash=allow_dash, path_type=Path),
            help=f"Write the verdict as a signed in-toto statement ({statement}, "
            "a Sigstore bundle) here.",
        ),
        click.option(
            "--key",
            "key_path",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="Private key for --attest.",
        ),
        click.option(
            "--passphrase-fd",
            type=click.IntRange(min=0),
            metavar="N",
            help="Read the --key passphrase from file descriptor N (else $NEBSIGN_PASSPHRASE, "
            "else a prompt). Never on the command line.",
        ),
    )

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate
