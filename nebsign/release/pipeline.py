"""``nebsign release`` as one library call: build output in, a signed release directory out.

Order (the release protocol): manifest of the build output -> each applicable
step of :data:`nebsign.release.steps.STEPS` (SAST, gates, and DAST/audit as
they land) -> every result signed as an attestation about release.json ->
release.json signed -> the layout verified and renamed into place. The first
step that does not pass stops the run (``keep_going`` runs the rest); a run
with any failing step publishes nothing.

Deterministic: the only time that enters an output is ``SOURCE_DATE_EPOCH``
(or, without it, the clock, reported as ``time_source: clock``); Ed25519 and
RFC 6979 ECDSA signatures are deterministic, and every JSON file is canonical.
Keyless (Sigstore) bundles are not: each run gets a new certificate and new log
entries, so only release.json, payload/, index.json and the signed statements'
payloads repeat byte for byte (and the report, which names the bundles, differs).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nebsign.errors import InputError
from nebsign.keys import PrivateKey
from nebsign.release import publish
from nebsign.release.model import (
    ReleaseContext,
    ReleaseOutcome,
    ReleaseRequest,
    Step,
    StepResult,
)
from nebsign.release.signer import KeySigner, ReleaseSigner

__all__ = ["clock", "expires_after", "parse_source_date_epoch", "run_release"]

#: SOURCE_DATE_EPOCH beyond this (year 5138) is a typo, not a build time
MAX_EPOCH = 10**11


def parse_source_date_epoch(text: str | None) -> int | None:
    """``$SOURCE_DATE_EPOCH`` (decimal seconds, reproducible-builds.org) or None when unset."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or int(text) > MAX_EPOCH:
        raise InputError(
            f"SOURCE_DATE_EPOCH must be a non-negative integer of seconds, not {text[:40]!r}"
        )
    return int(text)


def clock(source_date_epoch: int | None) -> datetime:
    """The pipeline's one time: SOURCE_DATE_EPOCH when given, else now (whole seconds)."""
    if source_date_epoch is None:
        return datetime.now(UTC).replace(microsecond=0)
    return datetime.fromtimestamp(source_date_epoch, UTC)


def expires_after(start: datetime, days: int) -> str:
    """RFC 3339 expiry *days* after *start* (the manifest's ``expires``)."""
    return (start + timedelta(days=days)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_request(request: ReleaseRequest) -> None:
    if bool(request.staging_baseline) != bool(request.staging_current):
        raise InputError("the staging gate needs both --staging-baseline and --staging-current")
    publish.check_paths(request.src_dir, request.build_dir, request.out_dir, force=request.force)


def _say(progress: Callable[[str], None], result: StepResult) -> None:
    progress(f"{result.step}: {result.verdict.upper()}: {result.reason}")


def _as_signer(key: PrivateKey | ReleaseSigner) -> ReleaseSigner:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        return KeySigner(key)
    return key


def run_release(
    request: ReleaseRequest,
    key: PrivateKey | ReleaseSigner,
    *,
    progress: Callable[[str], None] = lambda _line: None,
    steps: list[Step] | None = None,
) -> ReleaseOutcome:
    """Run the pipeline; the outcome says what passed, what failed and what was published.

    *key* signs everything: a private key, or a :class:`~nebsign.release.signer.ReleaseSigner`
    (e.g. :class:`~nebsign.release.signer.SigstoreReleaseSigner`, keyless; its token is
    checked before this is called, and the network is used only once every step passed).
    A failing step is a value in the outcome, not an exception
    (:meth:`ReleaseOutcome.raise_for_verdict` turns it into exit 1); bad input
    raises ``InputError`` and a missing scanner ``EnvironmentFault``.
    """
    from nebsign.release.steps import load_steps
    from nebsign.tree import build_manifest

    signer = _as_signer(key)
    _check_request(request)
    if request.report:
        from nebsign._internal.extras import require_extra

        require_extra("report", "nebsign release (the public report; or --no-report)")
    when = clock(request.source_date_epoch)
    chosen = load_steps() if steps is None else steps
    for step in chosen:
        if step.applies(request):
            step.check(request)
    stage = publish.new_stage(request.out_dir)
    published = False
    try:
        payload = publish.copy_payload(request.build_dir, stage)
        manifest = build_manifest(
            payload, name=request.name, version=request.version, expires=request.expires
        )
        raw = manifest.to_json()
        progress(
            f"manifest: {len(manifest.files)} file(s), {manifest.total_size} bytes, "
            f"release.json sha256:{manifest.digest()}"
        )
        expires_at = manifest.expires_at
        if expires_at is not None and expires_at <= datetime.now(UTC):
            progress(
                f"warning: release.json expires {request.expires}, already past: hosts refuse it"
            )
        results: list[StepResult] = []
        skipped: list[str] = []
        with tempfile.TemporaryDirectory(prefix="nebsign-release-") as work:
            ctx = ReleaseContext(request, manifest, raw, payload, when, Path(work), progress)
            for step in chosen:
                if not step.applies(request):
                    why = getattr(step, "skip_reason", "no input given")
                    skipped.append(f"{step.name}: {why}")
                    continue
                if results and not results[-1].passed and not request.keep_going:
                    skipped.append(f"{step.name}: not run, an earlier step failed")
                    continue
                progress(f"{step.name}: running")
                result = step.run(ctx)
                _say(progress, result)
                results.append(result)
        layout: tuple[str, ...] = ()
        if all(r.passed for r in results):

            def report(staged: Path) -> tuple[str, ...]:
                from nebsign.release.public_report import build_public_report

                progress("report: rendering the public report from the verified release")
                return build_public_report(staged, signer, when)

            if signer.kind == "sigstore":
                progress("signing keyless: Sigstore certificate and transparency log entries")
            with signer.session():
                layout = publish.finish(
                    stage,
                    request.out_dir,
                    manifest,
                    raw,
                    results,
                    signer,
                    now=when,
                    force=request.force,
                    after_verify=report if request.report else None,
                    note=progress,
                )
            published = True
            progress(f"published {request.out_dir}")
        else:
            progress("nothing published: a step failed")
        return ReleaseOutcome(
            name=request.name,
            version=request.version,
            manifest_sha256=manifest.digest(),
            files=len(manifest.files) + len(manifest.symlinks),
            steps=tuple(results),
            skipped=tuple(skipped),
            published=request.out_dir if published else None,
            layout=layout,
            time_source="clock" if request.source_date_epoch is None else "SOURCE_DATE_EPOCH",
            signer=signer.describe(),
        )
    finally:
        if not published:
            publish.remove_stage(stage)
