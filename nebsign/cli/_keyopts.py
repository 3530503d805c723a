"""Passphrase sources for the key and signing commands (never argv)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError
from nebsign.keys import (
    MAX_KEY_BYTES,
    PASSPHRASE_ENV,
    PrivateKey,
    load_private_key,
    passphrase_from_env,
    passphrase_from_fd,
)

__all__ = ["get_passphrase", "load_signing_key", "passphrase_fd_option"]

F = TypeVar("F", bound=Callable[..., Any])


def passphrase_fd_option(func: F) -> F:
    """Add ``--passphrase-fd N`` (parameter ``passphrase_fd``)."""
    return click.option(
        "--passphrase-fd",
        type=click.IntRange(min=0),
        metavar="N",
        help=f"Read the passphrase from file descriptor N (else ${PASSPHRASE_ENV}, "
        "else a prompt on the terminal). Never on the command line.",
    )(func)


def get_passphrase(fd: int | None, *, confirm: bool, required: bool = True) -> bytes | None:
    """The passphrase from --passphrase-fd, $NEBSIGN_PASSPHRASE or a TTY prompt."""
    if fd is not None:
        return passphrase_from_fd(fd)
    env = passphrase_from_env()
    if env is not None:
        return env
    if sys.stdin.isatty():
        value = click.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True, type=str
        )
        return str(value).encode("utf-8")
    if not required:
        return None
    raise InputError(
        "no passphrase: not a terminal, no --passphrase-fd and no " + PASSPHRASE_ENV,
        hint="or create the key with --no-passphrase",
    )


def load_signing_key(path: str, fd: int | None) -> PrivateKey:
    """Read and decrypt the private key at *path*, asking for a passphrase only if encrypted."""
    pem = read_bounded(path, MAX_KEY_BYTES, "private key")
    passphrase = get_passphrase(fd, confirm=False) if b"ENCRYPTED" in pem else None
    return load_private_key(pem, passphrase, f"private key {path}")
