"""--pdf: printed by real headless Chromium, byte-reproducible, covered by the signature."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nebsign.keys import PrivateKey
from nebsign.policy.trust import TrustPolicy
from nebsign.report.publish import ReportMismatch, build_report_dir, verify_report_dir


def _need_chromium() -> None:
    if shutil.which("chromium") or os.environ.get("NEBSIGN_CHROMIUM"):
        return
    if os.environ.get("NEBSIGN_REQUIRE_TOOLS"):
        pytest.fail("chromium is missing (scripts/ensure-chromium.sh)")
    pytest.skip("chromium not installed")


def test_pdf_is_reproducible_and_signed(tmp_path: Path, release: Path, key: PrivateKey) -> None:
    _need_chromium()
    policy = TrustPolicy.from_keys([key.public_key()])
    a, b = tmp_path / "a", tmp_path / "b"
    first = build_report_dir(release, a, policy=policy, key=key, pdf=True)
    build_report_dir(release, b, policy=policy, key=key, pdf=True)
    pdf = (a / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf == (b / "report.pdf").read_bytes()
    assert "report.pdf" in first.files
    verify_report_dir(a, policy)
    (a / "report.pdf").write_bytes(pdf.replace(b"/CreationDate (D:2000", b"/CreationDate (D:2001"))
    with pytest.raises(ReportMismatch, match=r"report\.pdf was changed"):
        verify_report_dir(a, policy)
    # a rebuild without --pdf removes the stale PDF; an unsigned PDF dropped in is refused
    build_report_dir(release, a, policy=policy, key=key)
    assert not (a / "report.pdf").exists()
    verify_report_dir(a, policy)
    (a / "report.pdf").write_bytes(pdf)
    with pytest.raises(ReportMismatch, match="not covered"):
        verify_report_dir(a, policy)
