"""``nebsign key generate|show``: Ed25519 / ECDSA P-256 signing keys."""

from __future__ import annotations

import os

import click

from nebsign._internal.atomic import atomic_write
from nebsign._internal.readlimit import read_bounded
from nebsign.cli._keyopts import get_passphrase, load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option
from nebsign.errors import InputError
from nebsign.keys import (
    MAX_KEY_BYTES,
    KeyKind,
    PublicKey,
    generate_key,
    key_id,
    key_kind,
    load_public_key,
    public_key_pem,
    save_private_key,
)


@click.group("key")
def key() -> None:
    """Generate and inspect signing keys.

    A key id is the hex SHA-256 of the public key's DER SubjectPublicKeyInfo;
    bundles name their signer by it and trust policies list it.

    \b
    Examples:
      nebsign key generate -o release        # release.key (encrypted) + release.pub
      nebsign key show release.pub --format json
    """


@key.command("generate")
@click.option(
    "-o",
    "--output",
    "prefix",
    required=True,
    metavar="PREFIX",
    help="Write PREFIX.key (private, mode 0600) and PREFIX.pub (public).",
)
@click.option(
    "--type",
    "kind",
    type=click.Choice([k.value for k in KeyKind]),
    default=KeyKind.ED25519.value,
    show_default=True,
    help="Key algorithm.",
)
@click.option("--no-passphrase", is_flag=True, help="Store the private key unencrypted.")
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@passphrase_fd_option
@format_option
def generate(
    prefix: str,
    kind: str,
    no_passphrase: bool,
    force: bool,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Generate a key pair.

    The private key is encrypted PKCS#8 PEM (scrypt + AES-256); the passphrase
    comes from --passphrase-fd N, $NEBSIGN_PASSPHRASE, or a terminal prompt,
    never from the command line.

    \b
    Examples:
      nebsign key generate -o release                  # prompts for a passphrase
      NEBSIGN_PASSPHRASE=... nebsign key generate -o ci --type ecdsa-p256
      nebsign key generate -o test --no-passphrase     # unencrypted, for tests only
    """
    private_path, public_path = f"{prefix}.key", f"{prefix}.pub"
    for path in (private_path, public_path):
        if os.path.lexists(path) and not force:
            raise InputError(f"{path} exists; pass --force to overwrite it")
    if no_passphrase and passphrase_fd is not None:
        raise InputError("--no-passphrase and --passphrase-fd contradict each other")
    passphrase = None if no_passphrase else get_passphrase(passphrase_fd, confirm=True)
    private = generate_key(KeyKind(kind))
    save_private_key(private_path, private, passphrase)
    atomic_write(public_path, public_key_pem(private.public_key()))
    kid = key_id(private.public_key())
    if output_format == "json":
        emit_json({"key_id": kid, "type": kind, "private": private_path, "public": public_path})
    else:
        click.echo(f"key id {kid} ({kind})")
        click.echo(f"wrote {private_path} (private, mode 0600) and {public_path}", err=True)


@key.command("show")
@click.argument("key_file", type=click.Path(dir_okay=False))
@passphrase_fd_option
@format_option
def show(key_file: str, passphrase_fd: int | None, output_format: str) -> None:
    """Print the key id, type and public PEM of a public or private key file.

    \b
    Example:
      nebsign key show release.pub
    """
    pem = read_bounded(key_file, MAX_KEY_BYTES, "key")
    public: PublicKey
    if b"PRIVATE KEY" in pem:
        public = load_signing_key(key_file, passphrase_fd).public_key()
    else:
        public = load_public_key(pem, f"key {key_file}")
    kid, kind = key_id(public), key_kind(public).value
    text = public_key_pem(public).decode("ascii")
    if output_format == "json":
        emit_json({"key_id": kid, "type": kind, "public_pem": text})
    else:
        click.echo(f"key id: {kid}\ntype:   {kind}\n{text}", nl=False)
