"""``report.pdf``: ``index.html`` printed by headless Chromium, made reproducible.

Chromium (Skia's PDF backend) writes the print time into ``/CreationDate``
and ``/ModDate`` and a time-derived document ``/ID``. Those are overwritten
in place with values of the same length (a fixed date, and an ID derived
from the rest of the file), so byte offsets stay valid and printing the same
HTML twice gives the same bytes. The page is loaded from a private temporary
directory; its strict CSP keeps Chromium from fetching anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from nebsign._internal.subproc import run
from nebsign.errors import EnvironmentFault

__all__ = ["CHROMIUM_ENV", "find_chromium", "print_pdf"]

CHROMIUM_ENV = "NEBSIGN_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})")
_ID = re.compile(rb"/ID \[<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>\]")
_TIMEOUT = 120


def find_chromium() -> str:
    """The Chromium executable: ``$NEBSIGN_CHROMIUM`` or the first one on ``PATH``."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise EnvironmentFault(
        "--pdf needs Chromium and none was found",
        hint=f"install it (scripts/ensure-chromium.sh) or set {CHROMIUM_ENV}",
    )


def _normalize(pdf: bytes) -> bytes:
    pdf = _DATE.sub(lambda m: b"/" + m.group(1) + b" (D:20000101000000", pdf)
    blank = _ID.sub(
        lambda m: b"/ID [<" + b"0" * len(m.group(1)) + b"> <" + b"0" * len(m.group(2)) + b">]", pdf
    )
    digest = hashlib.sha256(blank).hexdigest().upper().encode("ascii")

    def fixed(m: re.Match[bytes]) -> bytes:
        a = (digest * 4)[: len(m.group(1))]
        b = (digest * 4)[: len(m.group(2))]
        return b"/ID [<" + a + b"> <" + b + b">]"

    return _ID.sub(fixed, blank)


def print_pdf(html: bytes) -> bytes:
    """Print *html* to PDF with headless Chromium; EnvironmentFault if it cannot."""
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="nebsign-pdf-") as tmp:
        page, out = Path(tmp) / "index.html", Path(tmp) / "report.pdf"
        page.write_bytes(html)
        argv = [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            # its own process group: Chromium's helpers go with it on timeout
            proc = run(argv, timeout=_TIMEOUT, cwd=Path(tmp), env=os.environ)
        except OSError as exc:
            raise EnvironmentFault(f"Chromium could not print the report: {exc}") from exc
        if proc.timed_out or proc.too_large:
            raise EnvironmentFault(
                f"Chromium could not print the report within {_TIMEOUT:.0f} s and its output limit"
            )
        if proc.returncode != 0 or not out.is_file():
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise EnvironmentFault(
                f"Chromium could not print the report (exit {proc.returncode}): {tail[0][:200]}"
            )
        return _normalize(out.read_bytes())
