"""``nebsign hash``: sha256sum-compatible hashing of files, trees and stdin."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from typing import BinaryIO

import click

from nebsign._internal.display import display_path
from nebsign._internal.walk import walk_tree
from nebsign.checksums import ChecksumLine, display_name, format_line, iter_checksums
from nebsign.cli._output import emit_json, format_option, progress, quiet_option
from nebsign.digest import FileDigest, hash_files, sha256_file, sha256_stream
from nebsign.errors import InputError, VerdictError


def _expand(paths: tuple[str, ...], recursive: bool) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path) and not os.path.islink(path):
            if not recursive:
                raise InputError(f"{path}: is a directory", hint="use -r to hash it recursively")
            base = path.rstrip("/") or "/"
            sep = "" if base.endswith("/") else "/"
            out.extend(f"{base}{sep}{rel}" for rel, _ in walk_tree(path).files)
        else:
            out.append(path)
    return out


def _write(line: bytes) -> None:
    sys.stdout.buffer.write(line)


def _is_stream(path: str) -> bool:
    """True for a device, a FIFO or a process substitution (``<(…)``): read it like stdin.

    A regular file, and a symlink to one, keep the file path (the symlink is
    refused there: `nebsign manifest` records links).
    """
    try:
        st = os.stat(path)
    except OSError:
        return False  # sha256_file reports the error
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def _hash_stream_path(path: str) -> FileDigest:
    """SHA-256 of what reading *path* gives, as sha256sum does (``/dev/null``, ``<(cmd)``)."""
    try:
        # A FIFO's open waits for its writer, as with sha256sum (Ctrl-C ends the wait).
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            return sha256_stream(stream)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


@click.command("hash")
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True))
@click.option("-r", "--recursive", is_flag=True, help="Hash every regular file under directories.")
@click.option(
    "-c",
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read sha256sum output from FILE ('-' for stdin) and check each file.",
)
@click.option(
    "--strict-paths",
    is_flag=True,
    help="With --check: refuse absolute names and '..' (for checksum files you did not write).",
)
@format_option
@quiet_option
def hash_cmd(
    paths: tuple[str, ...],
    recursive: bool,
    check_file: str | None,
    strict_paths: bool,
    output_format: str,
    quiet: bool,
) -> None:
    """SHA-256 of files, byte-compatible with GNU `sha256sum`.

    \b
    Examples:
      nebsign hash dist/app.tar.gz            # same line as sha256sum prints
      nebsign hash -r release/ > SHA256SUMS   # every file under a directory
      nebsign hash --check SHA256SUMS         # verify; exit 1 on any mismatch
      nebsign hash --check SUMS --strict-paths  # a file from elsewhere: no /abs, no ..
      cat app.tar.gz | nebsign hash -         # stdin
      nebsign hash <(curl -s https://example.com/app.tar.gz)   # a pipe, as sha256sum

    Devices, FIFOs and process substitutions named on the command line are
    read like stdin. Symlinks inside directories are skipped with -r (use
    `nebsign manifest` to record them); a symlink to a regular file named on
    the command line is refused. --check reports a listed file that does not
    exist as missing (`FAILED open or read`, as sha256sum prints; MISSING in
    --format json).
    Like GNU sha256sum, --check opens the names as written, absolute paths
    and '..' included; --strict-paths refuses those (exit 2).
    """
    if strict_paths and check_file is None:
        raise click.UsageError("--strict-paths applies to --check")
    if check_file is not None:
        if paths:
            raise click.UsageError("--check takes no PATH arguments")
        _check(check_file, output_format, quiet, strict_paths)
        return
    if not paths:
        raise click.UsageError("give at least one PATH (or '-' for stdin)")
    files = _expand(paths, recursive)
    results: list[FileDigest] = []
    # only paths named on the command line can be devices or pipes (a walk refuses them)
    streams = {p for p in paths if p != "-" and _is_stream(p)}
    regular = [p for p in files if p != "-" and p not in streams]
    digests: dict[str, FileDigest] = {}
    if len(regular) > 1:
        with progress("hashing", len(regular), quiet=quiet, unit="files") as advance:
            digests = dict(zip(regular, hash_files(regular, progress=advance), strict=True))
    for path in files:
        if path == "-":
            digest = sha256_stream(sys.stdin.buffer)
        elif path in digests:
            digest = digests[path]
        elif path in streams:
            digest = _hash_stream_path(path)
        else:
            size = os.path.getsize(path) if os.path.isfile(path) else 0
            with progress(f"hashing {path}", size, quiet=quiet) as advance:
                digest = sha256_file(path, progress=advance)
        results.append(digest)
        if output_format == "text":
            _write(format_line(digest.sha256, os.fsencode(path)))
    if output_format == "json":
        emit_json(
            [
                {"path": p, "sha256": d.sha256, "size": d.size}
                for p, d in zip(files, results, strict=True)
            ]
        )


def _strict(line: ChecksumLine, what: str) -> None:
    name = line.name
    if name.startswith(b"/") or b".." in name.split(b"/"):
        raise InputError(
            f"{what}: line {line.lineno} names {display_path(os.fsdecode(name))}, an absolute "
            "path or one with '..': refused by --strict-paths"
        )


def _check(check_file: str, output_format: str, quiet: bool, strict: bool = False) -> None:
    """Check line by line as the file is read: memory is one line, not the file (issue 17).

    Each listed file is OK, FAILED (another digest), MISSING or unreadable; the
    text lines use sha256sum's words, the JSON and the error say which.
    """
    mismatched: list[str] = []
    missing: list[str] = []
    unreadable: list[str] = []
    report = []
    checked = 0
    with contextlib.ExitStack() as stack:
        if check_file == "-":
            stream: BinaryIO = sys.stdin.buffer
        else:
            try:
                stream = stack.enter_context(open(check_file, "rb"))
            except OSError as exc:
                raise InputError(f"cannot read {check_file}: {exc.strerror or exc}") from exc
        for line in iter_checksums(stream, check_file):
            if strict:
                _strict(line, check_file)
            checked += 1
            name = os.fsdecode(line.name)
            status = text = _check_one(name, line.sha256)
            if status == "FAILED":
                mismatched.append(name)
            elif status != "OK":
                (missing if status == "MISSING" else unreadable).append(name)
                text = "FAILED open or read"  # sha256sum's words
            if output_format == "json":
                report.append({"path": name, "status": status, "expected": line.sha256})
            elif not (quiet and status == "OK"):
                _write(display_name(line.name) + b": " + text.encode() + b"\n")
    failed = len(mismatched) + len(missing) + len(unreadable)
    if output_format == "json":
        emit_json(
            {
                "ok": failed == 0,
                "failed": failed,
                "mismatched": len(mismatched),
                "missing": len(missing),
                "unreadable": len(unreadable),
                "checked": checked,
                "files": report,
            }
        )
    if failed:
        parts = []
        if mismatched:
            parts.append(f"{len(mismatched)} computed checksum(s) did NOT match")
        if missing:
            first = display_name(os.fsencode(missing[0])).decode(errors="replace")
            parts.append(f"{len(missing)} listed file(s) missing (first: {first})")
        if unreadable:
            parts.append(f"{len(unreadable)} listed file(s) could not be read")
        raise VerdictError(f"{failed} of {checked} files failed: " + ", ".join(parts))


def _check_one(name: str, expected: str) -> str:
    """OK, FAILED (another digest), MISSING (no such file) or FAILED-READ."""
    try:
        found = (_hash_stream_path(name) if _is_stream(name) else sha256_file(name)).sha256
    except InputError:
        return "MISSING" if not os.path.lexists(name) else "FAILED-READ"
    return "OK" if found == expected else "FAILED"
