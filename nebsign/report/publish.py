"""Build a report directory (verify, render, sign, write) and check one (the I/O side).

A report directory holds ``index.html``, ``report.md``, ``report.json``
(optionally ``report.pdf``) and ``report.json.sigstore.json``: a DSSE bundle
around an in-toto statement of type ``REPORT_V1`` whose subjects are the
output files by name and SHA-256. Everything is verified and rendered in
memory first; only then is anything written (each file atomically, the
signature last), so a refusal writes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal.atomic import atomic_write, io_error
from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError, VerdictError
from nebsign.report.evidence import load_release
from nebsign.report.model import build_report
from nebsign.report.render import OUTPUTS, render_all, render_html, render_markdown
from nebsign.report.schema import MAX_REPORT_BYTES, parse_report

if TYPE_CHECKING:
    from collections.abc import Callable

    from nebsign.attest import Statement
    from nebsign.bundle import Bundle
    from nebsign.keys import PrivateKey
    from nebsign.policy.trust import TrustPolicy

__all__ = [
    "BUNDLE_FILE",
    "BuildResult",
    "ReportCheck",
    "ReportMismatch",
    "build_report_dir",
    "load_previous",
    "verify_report_dir",
]

BUNDLE_FILE = "report.json.sigstore.json"
PDF_FILE = "report.pdf"
_MAX_OUTPUT = 1024 * 1024 * 1024


class ReportMismatch(VerdictError):
    """A report file differs from what its signature or its signed JSON says."""

    reason = "report-mismatch"


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What was written: file name -> sha256, and the report's headline numbers."""

    out_dir: Path
    files: dict[str, str]
    signed: bool
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReportCheck:
    """A positive ``report verify``: files checked, who signed, what was re-rendered."""

    files: dict[str, str]
    signer: str
    name: str | None
    version: str | None
    rerendered: tuple[str, ...]
    evidence_checked: bool


def _statement(files: dict[str, bytes], doc: dict[str, Any]) -> Any:
    from nebsign.attest import REPORT_V1, Statement, Subject
    from nebsign.digest import sha256_bytes

    digests = {name: sha256_bytes(data) for name, data in sorted(files.items())}
    rel = doc["release"]
    predicate = {
        "report_schema": doc["schema"],
        "generator": doc["generator"],
        "release": {
            "name": rel["name"],
            "version": rel["version"],
            "manifest_sha256": rel["manifest_sha256"],
        },
        "policy_digest": rel["policy_digest"],
        "evidence": [{"file": e["file"], "sha256": e["bundle_sha256"]} for e in doc["evidence"]],
        "counts": {k: doc["summary"][k] for k in ("open", "accepted", "fixed", "total")},
        "previous": (doc["changes"] or {}).get("previous"),
    }
    subjects = tuple(Subject(name, sha) for name, sha in digests.items())
    return Statement(subjects, REPORT_V1, predicate), digests


def load_previous(
    prev_dir: str | os.PathLike[str], policy: TrustPolicy | None, *, unsigned_preview: bool
) -> dict[str, Any]:
    """The previous report's document, verified by signature unless previewing."""
    if policy is not None and not unsigned_preview:
        verify_report_dir(prev_dir, policy)
    raw = read_bounded(Path(prev_dir) / "report.json", MAX_REPORT_BYTES, "previous report")
    return parse_report(raw, f"previous report {prev_dir}/report.json")


def build_report_dir(
    release_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    policy: TrustPolicy | None,
    key: PrivateKey | None,
    previous_dir: str | os.PathLike[str] | None = None,
    unsigned_preview: bool = False,
    date: str | None = None,
    pdf: bool = False,
    now: datetime | None = None,
    sign: Callable[[Statement], Bundle] | None = None,
) -> BuildResult:
    """Verify *release_dir*, render the report, sign it with *key* (or *sign*: e.g. Sigstore
    keyless, ``nebsign release --sigstore``), write *out_dir*."""
    if key is None and sign is None and not unsigned_preview:
        raise InputError("a signing key is required (--key), or --unsigned-preview")
    evidence = load_release(release_dir, policy, unsigned_preview=unsigned_preview, now=now)
    previous = (
        load_previous(previous_dir, policy, unsigned_preview=unsigned_preview)
        if previous_dir is not None
        else None
    )
    doc = build_report(evidence, previous=previous, date=date)
    if unsigned_preview and not doc["preview"]:
        doc["preview"] = True  # a preview is stamped even when its evidence happened to verify
        doc["problems"] = ["built with --unsigned-preview: this report is not signed"]
    files = render_all(doc)
    if pdf:
        from nebsign.report.pdf import print_pdf

        files[PDF_FILE] = print_pdf(files["index.html"])
    out = Path(out_dir)
    signed = not doc["preview"] and (key is not None or sign is not None)
    bundle = None
    statement, digests = _statement(files, doc)
    if signed and sign is not None:
        bundle = sign(statement).to_json()
    elif signed:
        from nebsign.signing import sign_statement

        assert key is not None
        bundle = sign_statement(statement, key).to_json()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise io_error(out, exc, "create") from exc
    for stale in (BUNDLE_FILE, *([] if pdf else [PDF_FILE])):
        try:
            (out / stale).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise io_error(out / stale, exc, "remove") from exc
    for name, data in files.items():
        atomic_write(out / name, data)
    if bundle is not None:
        atomic_write(out / BUNDLE_FILE, bundle)
    return BuildResult(out, digests, signed, doc)


def _strip(doc: dict[str, Any], keep_history: bool) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if keep_history or k not in ("changes", "trend")}
    # the date may come from --date, and the verifier's policy file may differ from the builder's
    out["release"] = {k: v for k, v in doc["release"].items() if k not in ("date", "policy_digest")}
    if not keep_history:
        out["findings"] = [{**f, "change": None} for f in doc["findings"]]
    return out


def verify_report_dir(
    report_dir: str | os.PathLike[str],
    policy: TrustPolicy,
    *,
    release_dir: str | os.PathLike[str] | None = None,
    previous_dir: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
) -> ReportCheck:
    """Check the signature, every signed file, the re-rendered HTML/Markdown, the evidence."""
    from nebsign.attest import REPORT_V1
    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.digest import sha256_bytes
    from nebsign.report.evidence import dsse_pae, signed_by
    from nebsign.verify import verify_attestation

    root = Path(report_dir)
    if not root.is_dir():
        raise InputError(f"report {root}: not a directory")
    if not (root / BUNDLE_FILE).is_file():
        raise ReportMismatch(f"report {root}: not signed (no {BUNDLE_FILE}; an unsigned preview?)")
    bundle = Bundle.from_json(read_bounded(root / BUNDLE_FILE, MAX_BUNDLE_BYTES, "bundle"))
    statement = verify_attestation(bundle, policy, now=now)
    if statement.predicate_type != REPORT_V1:
        raise ReportMismatch(f"{BUNDLE_FILE}: a {statement.predicate_type} statement, not a report")
    signed = {s.name: s.sha256 for s in statement.subjects}
    missing = [n for n in OUTPUTS if n not in signed]
    if missing:
        raise ReportMismatch(f"report {root}: the signature does not cover {', '.join(missing)}")
    if (root / PDF_FILE).exists() and PDF_FILE not in signed:
        raise ReportMismatch(f"report {root}: {PDF_FILE} is not covered by the signature")
    data: dict[str, bytes] = {}
    for name, sha in sorted(signed.items()):
        if name not in (*OUTPUTS, PDF_FILE):
            raise ReportMismatch(f"{BUNDLE_FILE}: unexpected subject {name[:80]!r}")
        raw = read_bounded(root / name, _MAX_OUTPUT, "report file")
        found = sha256_bytes(raw)
        if found != sha:
            raise ReportMismatch(
                f"report {root}: {name} was changed after signing "
                f"(sha256:{found[:16]}..., signed sha256:{sha[:16]}...)"
            )
        data[name] = raw
    doc = parse_report(data["report.json"], f"{root}/report.json")
    for name, render in (("index.html", render_html), ("report.md", render_markdown)):
        if render(doc) != data[name]:
            raise ReportMismatch(
                f"report {root}: {name} is not what the signed report.json renders"
            )
    if release_dir is not None:
        evidence = load_release(release_dir, policy, now=now)
        prev = load_previous(previous_dir, policy, unsigned_preview=False) if previous_dir else None
        fresh = parse_report(
            render_all(build_report(evidence, previous=prev))["report.json"], "rebuilt report"
        )
        if _strip(fresh, prev is not None) != _strip(doc, prev is not None):
            raise ReportMismatch(
                f"report {root}: report.json does not match the evidence in {release_dir}"
            )
    signer = signed_by(bundle, policy, dsse_pae(bundle), False)
    return ReportCheck(
        files={n: signed[n] for n in sorted(signed)},
        signer=signer.signer,
        name=doc["release"]["name"],
        version=doc["release"]["version"],
        rerendered=("index.html", "report.md"),
        evidence_checked=release_dir is not None,
    )
