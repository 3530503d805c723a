"""``nebsign manifest create|verify``: the release's file list, canonical JSON."""

from __future__ import annotations

import os
import sys

import click

from nebsign._internal.readlimit import read_bounded
from nebsign.cli._output import (
    emit_json,
    format_option,
    inside,
    progress,
    quiet_option,
    shown,
    write_output,
)
from nebsign.digest import sha256_bytes
from nebsign.manifest import MAX_MANIFEST_BYTES
from nebsign.tree import build_manifest, load_and_verify_tree


def _count_files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


@click.group("manifest")
def manifest() -> None:
    """Create and verify release manifests (release.json).

    A manifest lists every regular file of a release directory (relative POSIX
    path, size, SHA-256) and every symlink (by target, never followed), as RFC
    8785 canonical JSON, so its own SHA-256 is stable across machines and runs.
    That digest is what `nebsign sign` signs and what hosts verify.

    \b
    Examples:
      nebsign manifest create dist/ --name exchange-api --version 1.4.2 -o release.json
      nebsign manifest verify release.json dist/
    """


@manifest.command("create")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write here (default or '-': stdout). A device, FIFO or symlink is written "
    "through, never replaced.",
)
@click.option("--name", help="Release name, e.g. exchange-api.")
@click.option(
    "--version",
    "version",
    help="Release version: dotted numbers, optional -prerelease (1.4.2, 2.0.0-rc.1). "
    "Hosts refuse to install a version not newer than the installed one.",
)
@click.option(
    "--expires",
    help="UTC expiry, e.g. 2027-01-31T00:00:00Z. Hosts refuse the release after it.",
)
@click.option(
    "--exclude",
    multiple=True,
    help="Relative path to leave out (repeatable). The output file, and each "
    "NAME.sigstore.json beside a file NAME (its signature), are left out automatically.",
)
@click.option("--sha256sum", "as_sha256sum", is_flag=True, help="Write sha256sum text instead.")
@format_option
@quiet_option
def create(
    directory: str,
    output: str | None,
    name: str | None,
    version: str | None,
    expires: str | None,
    exclude: tuple[str, ...],
    as_sha256sum: bool,
    output_format: str,
    quiet: bool,
) -> None:
    """Hash every file under DIRECTORY into a manifest.

    \b
    Example:
      nebsign manifest create dist/ --name exchange-api --version 1.4.2 -o release.json

    Nothing time-dependent is recorded unless you pass --expires, so the same
    tree always gives byte-identical output. Special files (FIFOs, devices)
    and symlinks pointing outside DIRECTORY are refused.
    """
    if output == "-":
        output = None
    skip = set(exclude)
    if output is not None:
        rel = inside(output, directory)
        if rel is not None:
            skip.add(rel)
    # Counting files costs a walk: only when a progress bar will be drawn.
    total = _count_files(directory) if sys.stderr.isatty() and not quiet else 0
    with progress("hashing", total, quiet=quiet, unit="files") as advance:
        result = build_manifest(
            directory,
            name=name,
            version=version,
            expires=expires,
            exclude=frozenset(skip),
            progress=advance,
            skip_bundles=True,
        )
    data = result.to_sha256sum() if as_sha256sum else result.to_json()
    if output is None:
        # The canonical bytes exactly (no newline), except on a terminal.
        newline = b"\n" if sys.stdout.isatty() and not as_sha256sum else b""
        sys.stdout.buffer.write(data + newline)
    else:
        write_output(output, data)
    if output is not None and (output_format == "json" or not quiet):
        digest = f"sha256:{sha256_bytes(data)}" if not as_sha256sum else None
        summary = {
            "output": output,
            "files": len(result.files),
            "symlinks": len(result.symlinks),
            "bytes": result.total_size,
            "digest": digest,
        }
        if output_format == "json":
            emit_json(summary)
        elif not quiet:
            click.echo(
                f"wrote {output}: {len(result.files)} files, {len(result.symlinks)} symlinks, "
                f"{result.total_size} bytes" + (f", digest {digest}" if digest else ""),
                err=True,
            )


@manifest.command("verify")
@click.argument("manifest_file", type=click.Path(dir_okay=False))
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--exclude", multiple=True, help="Relative path to leave out (repeatable).")
@format_option
@quiet_option
def verify(
    manifest_file: str,
    directory: str | None,
    exclude: tuple[str, ...],
    output_format: str,
    quiet: bool,
) -> None:
    """Check DIRECTORY (default: the manifest's own directory) against MANIFEST_FILE.

    \b
    Example:
      nebsign manifest verify release.json dist/
      nebsign manifest verify release.json dist/ --format json

    Reports every missing, extra and changed file, not just the first, and
    exits 1 if there is any. What `manifest create` leaves out is left out
    here too: the manifest file itself when it lies inside DIRECTORY, and
    each NAME.sigstore.json beside a file NAME (a signature written by
    `nebsign sign` after the manifest was made). Names are printed escaped
    (a newline as \\n). Only canonical manifests (RFC
    8785 bytes exactly as `manifest create` writes them) are accepted, so the
    digest that was signed is the digest of the file. This checks the files;
    `nebsign verify` also checks who signed the manifest.
    """
    raw = read_bounded(manifest_file, MAX_MANIFEST_BYTES, "manifest")
    root = directory if directory is not None else (os.path.dirname(manifest_file) or ".")
    skip = set(exclude)
    rel = inside(manifest_file, root)
    if rel is not None:
        skip.add(rel)
    total = _count_files(root) if sys.stderr.isatty() and not quiet else 0
    with progress("verifying", total, quiet=quiet, unit="files") as advance:
        _, diff = load_and_verify_tree(
            raw,
            root,
            what=manifest_file,
            exclude=frozenset(skip),
            progress=advance,
            skip_bundles=True,
        )
    if output_format == "json":
        emit_json(
            {
                "ok": diff.ok,
                "checked": diff.checked,
                "missing": list(diff.missing),
                "extra": list(diff.extra),
                "changed": [
                    {"path": c.path, "expected": c.expected, "found": c.found} for c in diff.changed
                ],
                "digest": f"sha256:{sha256_bytes(raw)}",
            }
        )
    else:
        for change in diff.changed:
            click.echo(
                f"CHANGED  {shown(change.path)}: expected {shown(change.expected)}, "
                f"found {shown(change.found)}"
            )
        for path in diff.missing:
            click.echo(f"MISSING  {shown(path)}")
        for path in diff.extra:
            click.echo(f"EXTRA    {shown(path)}")
        if diff.ok and not quiet:
            click.echo(f"OK: {diff.checked} entries match {shown(manifest_file)}")
    diff.verify()
