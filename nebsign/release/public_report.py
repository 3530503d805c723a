"""The public report of a release, built inside the stage before it is renamed to OUT.

``OUT/report/`` holds ``index.html``, ``report.md``, ``report.json`` and
``report.json.sigstore.json`` (see ``nebsign report build``). It is rendered from
the staged release after its signatures verified, with the release signer's trust
policy (the key's public half, or the keyless identity and pinned Sigstore root),
and signed by the same signer. Anyone re-checks it with
``nebsign report verify OUT/report --release OUT --policy trust.toml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nebsign.release.signer import ReleaseSigner

__all__ = ["REPORT_DIR", "build_public_report"]

REPORT_DIR = "report"


def build_public_report(stage: Path, signer: ReleaseSigner, when: datetime) -> tuple[str, ...]:
    """Render and sign the report of the release in *stage*; return the files written."""
    from nebsign.report.publish import BUNDLE_FILE, build_report_dir

    built = build_report_dir(
        stage,
        stage / REPORT_DIR,
        policy=signer.trust_policy(),
        key=None,
        sign=signer.sign_statement,
        date=when.strftime("%Y-%m-%d"),
    )
    return tuple(f"{REPORT_DIR}/{name}" for name in (*sorted(built.files), BUNDLE_FILE))
