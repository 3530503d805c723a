"""The files a scan's verdict is written to: SARIF, a baseline accepting it, a signed statement.

``scan sast``, ``scan dast`` and ``audit`` offer the same outputs (``--sarif``;
``--write-baseline`` with ``--who``, ``--why``, ``--until``; ``--attest`` with
``--key``) and write them here, one way: each through
:func:`nebsign._internal.atomic.write_output` (or the writer the caller hands in,
which may send ``-`` to its stdout), the signing key loaded only when a statement
is signed, so a passphrase is asked for after the scan, never for a scan that fails
first. Each capability brings its own SARIF log and statement; what is common is
which outputs there are, their order, and what a baseline accepts (every open finding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nebsign._internal.atomic import write_output
from nebsign._internal.readlimit import read_bounded
from nebsign.attest import Subject
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Status
from nebsign.manifest import MAX_MANIFEST_BYTES

if TYPE_CHECKING:
    from nebsign.attest import Statement
    from nebsign.keys import PrivateKey

__all__ = [
    "Acceptance",
    "VerdictOutputs",
    "Writer",
    "accept_open",
    "manifest_subject",
    "raise_unless_accepted",
    "write_attestation",
    "write_verdict_outputs",
]

#: writes one output's bytes to a path (the default replaces files atomically and
#: writes devices and FIFOs through; a command line maps ``-`` to its stdout)
Writer = Callable[[Path, bytes], None]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """``--write-baseline``: accept every open finding, by whom, why, and until when."""

    path: Path
    who: str
    why: str
    until: date | None = None


@dataclass(frozen=True, slots=True)
class VerdictOutputs:
    """Which outputs to write besides the verdict itself (None: not asked for)."""

    sarif: Path | None = None
    attest: Path | None = None
    accept: Acceptance | None = None
    #: loads the private key for ``attest`` (and asks for its passphrase) when it is signed
    signing_key: Callable[[], PrivateKey] | None = field(default=None, repr=False)
    write: Writer = field(default=write_output, repr=False)


def manifest_subject(path: Path) -> Subject:
    """The release manifest a statement is about (``--subject-manifest``): name and SHA-256."""
    return Subject(path.name, sha256_bytes(read_bounded(path, MAX_MANIFEST_BYTES, "manifest")))


def accept_open(
    findings: Sequence[Finding], accept: Acceptance, write: Writer = write_output
) -> int:
    """Write a baseline accepting every open finding of *findings*; return how many."""
    from nebsign.baseline import render_baseline

    open_findings = [f for f in findings if f.status is Status.OPEN]
    accept.path.parent.mkdir(parents=True, exist_ok=True)
    write(
        accept.path,
        render_baseline(open_findings, who=accept.who, why=accept.why, until=accept.until),
    )
    return len(open_findings)


def write_verdict_outputs(
    outputs: VerdictOutputs,
    findings: Sequence[Finding],
    *,
    sarif: Callable[[], bytes],
    statement: Callable[[], Statement],
    also: Sequence[tuple[Path | None, Callable[[], bytes]]] = (),
) -> int | None:
    """Write what *outputs* asks for, in this order: SARIF, *also* (a capability's own
    outputs, e.g. the SAST manifest), the baseline, the signed statement.

    *sarif* and *statement* make the bytes and the statement only when asked for.
    Returns how many open findings the written baseline accepts (None: none written).
    """
    if outputs.sarif is not None:
        outputs.write(outputs.sarif, sarif())
    for path, data in also:
        if path is not None:
            outputs.write(path, data())
    accepted = None
    if outputs.accept is not None:
        accepted = accept_open(findings, outputs.accept, outputs.write)
    if outputs.attest is not None:
        if outputs.signing_key is None:
            raise InputError("a signed statement needs a signing key", hint="give --key")
        write_attestation(outputs.attest, statement(), outputs.signing_key, outputs.write)
    return accepted


def write_attestation(
    path: Path,
    statement: Statement,
    signing_key: Callable[[], PrivateKey],
    write: Writer = write_output,
) -> None:
    """Sign *statement* (a DSSE bundle) with the key *signing_key* loads, and write it."""
    from nebsign.signing import sign_statement

    write(path, sign_statement(statement, signing_key()).to_json())


class _Verdict(Protocol):
    @property
    def passed(self) -> bool: ...

    def reason(self) -> str: ...


def raise_unless_accepted(
    verdict: _Verdict, accepted: int | None, failed: type[VerdictError]
) -> None:
    """Raise *failed* (exit 1) unless *verdict* passed, or a baseline was just written to
    accept its findings (*accepted* is not None: that run exits 0)."""
    if not verdict.passed and accepted is None:
        raise failed(verdict.reason())
