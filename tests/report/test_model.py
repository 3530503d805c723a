"""The report model: findings from every source, statuses, found vs remediated, the diff."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from report import reportkit as kit

from nebsign.keys import PrivateKey
from nebsign.policy.trust import TrustPolicy
from nebsign.report.evidence import load_release
from nebsign.report.model import build_report
from nebsign.report.render import render_all


def _doc(release: Path, key: PrivateKey, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    policy = TrustPolicy.from_keys([key.public_key()])
    return build_report(load_release(release, policy), previous=previous)


def test_findings_from_all_three_sources_and_every_type(release: Path, key: PrivateKey) -> None:
    doc = _doc(release, key)
    assert {f["source"] for f in doc["findings"]} == {"sast", "dast", "audit"}
    assert [e["kind"] for e in doc["evidence"]] == ["sast", "dast", "audit", "gate"]
    assert all(e["signer_kind"] == "key" for e in doc["evidence"])
    assert [s["kind"] for s in doc["scans"]] == ["sast", "dast"]
    dast = doc["scans"][1]
    assert dast["target"] == "https://staging.example.com"
    assert dast["coverage"]["not_covered"] == ["/admin"]
    (audit,) = doc["audits"]
    assert audit["auditor"] == "CertiK" and audit["commit"].startswith("0123")
    assert audit["scope"] == [
        {"path": "app/mod1.py", "sha256": "cd" * 32, "sha1": None, "weak": False}
    ]
    (gate,) = doc["gates"]
    assert gate["gate"] == "canary" and gate["metrics"][0]["interval"] == [0.001, 0.003]
    assert doc["release"]["payload_checked"] == 2
    assert doc["summary"]["open"] == 2 and doc["summary"]["accepted"] == 2
    assert doc["summary"]["fixed"] == 1


def test_acknowledged_is_never_remediated(release: Path, key: PrivateKey) -> None:
    doc = _doc(release, key)
    by_status = {f["status"]: f for f in doc["findings"]}
    ack = by_status["acknowledged"]
    assert ack["group"] == "accepted" and ack["remediated"] is False
    assert ack["labels"] == {
        "firm_id": "CER-04",
        "original_severity": "Major",
        "original_status": "Acknowledged",
    }
    fixed = by_status["fixed"]
    assert fixed["remediated"] is True
    assert fixed["fix_refs"] == ["https://git.example.com/commit/abc123"]
    files = render_all(doc)
    html = files["index.html"].decode()
    remediated = html.split("<h3>Remediated (1)</h3>", 1)[1].split("</section>", 1)[0]
    accepted = html.split("<h3>Accepted, not remediated (2)</h3>", 1)[1].split("<h3>", 1)[0]
    assert "audit finding 5" in remediated and "audit finding 4" not in remediated
    assert "audit finding 4" in accepted and "Acknowledged" in accepted
    md = files["report.md"].decode()
    md_fixed = md.split("### Remediated (1)", 1)[1]
    assert "audit finding 4" not in md_fixed and "audit finding 5" in md_fixed


def test_diff_against_previous_report(tmp_path: Path, key: PrivateKey) -> None:
    old = kit.make_release(
        tmp_path / "old",
        key,
        [
            kit.sast([kit.finding("sast", 1), kit.finding("sast", 2), kit.finding("sast", 6)]),
            kit.audit([kit.finding("audit", 4)]),
        ],
        version="1.4.1",
    )
    new = kit.make_release(
        tmp_path / "new",
        key,
        [
            kit.sast(
                [
                    kit.finding("sast", 1),  # still open
                    kit.finding("sast", 7),  # new
                    kit.finding("sast", 6, status="fixed"),  # fixed in place
                ]
            ),  # sast 2: gone -> fixed
            kit.audit(
                [
                    kit.finding(
                        "audit",
                        4,
                        status="acknowledged",
                        status_note={"who": "v", "why": "w", "until": "2027-01-01"},
                    )
                ]
            ),
        ],
        version="1.4.2",
    )
    previous = _doc(old, key)
    doc = _doc(new, key, previous)
    change = {f["title"]: f["change"] for f in doc["findings"]}
    assert change == {
        "sast finding 1": "still-open",
        "sast finding 7": "new",
        "sast finding 6": "fixed",
        "audit finding 4": "accepted",
    }
    changes = doc["changes"]
    assert changes["counts"] == {"new": 1, "fixed": 2, "still-open": 1, "accepted": 1}
    assert [g["title"] for g in changes["gone"]] == ["sast finding 2"]
    assert changes["previous"]["version"] == "1.4.1"
    assert [p["version"] for p in doc["trend"]] == ["1.4.1", "1.4.2"]
    html = render_all(doc)["index.html"].decode()
    assert "Changes since exchange-api 1.4.1" in html
    assert 'aria-labelledby="trend-title"' in html  # the trend chart appears with history


def test_unknown_predicate_is_listed_generically(tmp_path: Path, key: PrivateKey) -> None:
    rel = kit.make_release(
        tmp_path / "r",
        key,
        [("https://example.com/custom/v1", {"verdict": "pass", "reason": "custom ok"})],
    )
    doc = _doc(rel, key)
    assert doc["evidence"][0]["kind"] == "other"
    assert doc["evidence"][0]["reason"] == "custom ok"
    assert doc["findings"] == [] and doc["scans"] == []


def test_html_is_self_contained_with_strict_csp(release: Path, key: PrivateKey) -> None:
    html = render_all(_doc(release, key))["index.html"].decode()
    head = html.split("<head>", 1)[1]
    assert head.lstrip().startswith('<meta http-equiv="Content-Security-Policy"')
    csp = re.search(r'content="([^"]+)"', head)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1) and "script-src 'none'" in csp.group(1)
    assert "<script" not in html.lower()
    # no resource is loaded from anywhere: no src, no <link>; hrefs are anchors or links
    assert " src=" not in html and "<link" not in html and "url(" not in html
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("#", "https://", "http://")), href
    assert "<svg" in html and "<table>" in html and "<h2>Verify it yourself</h2>" in html
    assert '<meta name="viewport"' in html and "@media print" in html


@pytest.mark.parametrize("status", ["acknowledged", "accepted-risk", "false-positive"])
def test_accepted_statuses_map_to_accepted(tmp_path: Path, key: PrivateKey, status: str) -> None:
    rel = kit.make_release(
        tmp_path / "r",
        key,
        [kit.audit([kit.finding("audit", 1, status=status)])],
    )
    (f,) = _doc(rel, key)["findings"]
    assert f["group"] == "accepted" and not f["remediated"]
