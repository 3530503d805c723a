"""Any predicate content: the model either refuses it (InputError) or renders it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.attest import AUDIT_V1, DAST_V1, GATE_V1, SAST_V1, Statement, Subject
from nebsign.errors import InputError
from nebsign.manifest import FileEntry, Manifest
from nebsign.report.evidence import Evidence, SignedBy, SignedFile
from nebsign.report.model import build_report
from nebsign.report.render import render_all
from nebsign.report.schema import parse_report

SHA = "ab" * 32
MANIFEST = Manifest(files=(FileEntry("app/main.py", 3, SHA),), name="app", version="1.0")
KEYS = [
    "verdict",
    "reason",
    "policy_digest",
    "tools",
    "counts",
    "findings",
    "findings_digest",
    "target",
    "coverage",
    "anomalies",
    "auditor",
    "report",
    "dates",
    "repository",
    "commit",
    "scope",
    "gate",
    "window",
    "metrics",
    "metrics_digest",
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FINDING = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["sast", "dast", "audit", "other"]),
        "tool": st.text(max_size=10),
        "rule_id": st.text(max_size=10),
        "severity": st.sampled_from(["critical", "high", "low", "bogus"]),
        "confidence": st.sampled_from(["high", "low"]),
        "title": st.text(max_size=30),
        "message": st.text(max_size=30),
        "location": st.sampled_from([{"path": "a.py", "line": 3}, {"url": "https://x"}, {}]),
        "status": st.sampled_from(["open", "fixed", "acknowledged", "wontfix"]),
    },
    optional={"properties": JSON, "status_note": JSON, "cwe": JSON},
)


@settings(max_examples=150, deadline=None)
@given(
    ptype=st.sampled_from([SAST_V1, DAST_V1, AUDIT_V1, GATE_V1, "https://x.example/p/v1"]),
    pred=st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8),
    findings=st.lists(FINDING, max_size=3),
)
def test_model_refuses_or_renders(ptype: str, pred: dict[str, Any], findings: list[Any]) -> None:
    if findings:
        pred["findings"] = findings
    statement = Statement((Subject("release.json", SHA),), ptype, pred)
    ev = Evidence(
        manifest=MANIFEST,
        manifest_sha256=SHA,
        signatures=(),
        attestations=(
            SignedFile("attestations/x.sigstore.json", SHA, SignedBy("k", "key"), statement),
        ),
        policy_digest=None,
        verified=True,
        payload_checked=None,
    )
    try:
        doc = build_report(ev)
    except InputError:
        return
    files = render_all(doc)
    parse_report(files["report.json"])  # what the model makes always follows the schema
