"""The public report of a release, built inside the stage before it is renamed to OUT.

``OUT/report/`` holds ``index.html``, ``report.md``, ``report.json`` and
``report.json.sigstore.json`` (see ``nebsign report build``). It is rendered from
the staged release after its signatures verified, with the signing key's public
half as the trust policy, and signed with the same key. Anyone re-checks it with
``nebsign report verify OUT/report --release OUT --policy trust.toml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nebsign.keys import PrivateKey

__all__ = ["REPORT_DIR", "build_public_report"]

REPORT_DIR = "report"


def build_public_report(stage: Path, key: PrivateKey, when: datetime) -> tuple[str, ...]:
    """Render and sign the report of the release in *stage*; return the files written."""
    from nebsign.policy.trust import TrustPolicy
    from nebsign.report.publish import BUNDLE_FILE, build_report_dir

    policy = TrustPolicy.from_keys([key.public_key()])
    built = build_report_dir(
        stage, stage / REPORT_DIR, policy=policy, key=key, date=when.strftime("%Y-%m-%d")
    )
    return tuple(f"{REPORT_DIR}/{name}" for name in (*sorted(built.files), BUNDLE_FILE))
