"""Real releases for the report tests: real keys, real signatures, every predicate type.

The SAST, DAST, audit and gate predicates follow the shared convention
(verdict, reason, policy_digest, tools, counts, findings, findings_digest,
plus each type's own keys); they are built here, signed with
``nebsign.signing.sign_statement``, exactly as the capabilities will publish them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nebsign._internal.canonical import canonical_json
from nebsign.attest import AUDIT_V1, DAST_V1, GATE_V1, SAST_V1, Statement, Subject
from nebsign.digest import sha256_bytes
from nebsign.keys import PrivateKey, key_id, public_key_pem
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

POLICY = "sha256:" + "ab" * 32


def finding(source: str, n: int, **over: Any) -> dict[str, Any]:
    """One finding in the shape of ``Finding.to_dict()``."""
    loc: dict[str, Any] = (
        {"url": f"https://staging.example.com/api/{n}", "parameter": "q", "method": "GET"}
        if source == "dast"
        else {"path": f"app/mod{n}.py", "line": n + 1}
    )
    sev = ["critical", "high", "medium", "low", "info"][n % 5]
    out: dict[str, Any] = {
        "source": source,
        "tool": {"sast": "bandit", "dast": "nebsign-dast", "audit": "CertiK"}[source],
        "rule_id": f"R{n}",
        "severity": sev,
        "confidence": "high",
        "title": f"{source} finding {n}",
        "message": f"Something is wrong in item {n}.",
        "recommendation": "Fix it.",
        "location": loc,
        "cwe": ["CWE-89"],
        "swc": [],
        "snippet": "",
        "fingerprint": sha256_bytes(f"{source}-{n}".encode()),
        "status": "open",
        "properties": {},
    }
    out.update(over)
    return out


def _base(findings: list[dict[str, Any]], verdict: str = "pass") -> dict[str, Any]:
    return {
        "verdict": verdict,
        "reason": "no finding at or above the failing level",
        "policy_digest": POLICY,
        "tools": {"nebsign": "0.1.0"},
        "counts": {"findings": len(findings)},
        "findings": findings,
        "findings_digest": "sha256:" + sha256_bytes(canonical_json(findings)),
    }


def sast(findings: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return SAST_V1, {**_base(findings), "tools": {"bandit": "1.9.4", "semgrep": "1.185.0"}}


def dast(findings: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return DAST_V1, {
        **_base(findings),
        "target": "https://staging.example.com",
        "coverage": {"requests": 412, "endpoints": 37, "not_covered": ["/admin"]},
        "anomalies": [],
    }


def audit(findings: list[dict[str, Any]], **over: Any) -> tuple[str, dict[str, Any]]:
    pred = {
        **_base(findings),
        "auditor": "CertiK",
        "report": {"title": "Exchange API audit", "url": "https://audits.example.com/r.pdf"},
        "dates": {"audit": "2026-10-01", "fix_review": "2026-11-01"},
        "repository": "https://git.example.com/exchange-api",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "scope": [{"path": "app/mod1.py", "sha256": "cd" * 32}],
        "coverage": {"uncovered": [], "drifted": [], "open_at_or_above_level": []},
    }
    pred.update(over)
    return AUDIT_V1, pred


def gate() -> tuple[str, dict[str, Any]]:
    return GATE_V1, {
        **{k: v for k, v in _base([]).items() if not k.startswith("findings")},
        "gate": "canary",
        "window": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T06:00:00Z", "hours": 6},
        "metrics": [
            {
                "name": "error_rate",
                "verdict": "pass",
                "statistic": 0.002,
                "tolerance_or_threshold": 0.01,
                "interval": [0.001, 0.003],
                "samples": 5000,
                "reason": "below threshold",
            }
        ],
        "metrics_digest": "sha256:" + "ef" * 32,
    }


def write_policy(path: Path, *keys: PrivateKey) -> Path:
    body = "version = 1\nthreshold = 1\n"
    for key in keys:
        pub = key.public_key()
        body += f"[[keys]]\nid = \"{key_id(pub)}\"\npem = '''{public_key_pem(pub).decode()}'''\n"
    path.write_text(body)
    return path


def make_release(
    root: Path,
    key: PrivateKey,
    predicates: list[tuple[str, dict[str, Any]]],
    *,
    name: str = "exchange-api",
    version: str = "1.4.2",
    payload: dict[str, bytes] | None = None,
    att_key: PrivateKey | None = None,
) -> Path:
    """A release directory in the agent's layout with the given attestations."""
    files = payload or {
        "app/main.py": b"print('hi')\n",
        "dist/app.tar.gz": b"\x1f\x8b" + b"x" * 100,
    }
    for rel, data in files.items():
        p = root / "payload" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    manifest = build_manifest(root / "payload", name=name, version=version)
    (root / "release.json").write_bytes(manifest.to_json())
    (root / "release.json.sigstore.json").write_bytes(sign_digest(manifest.digest(), key).to_json())
    (root / "attestations").mkdir()
    for i, (ptype, pred) in enumerate(predicates):
        st = Statement((Subject("release.json", manifest.digest()),), ptype, pred)
        kind = ptype.rstrip("/").split("/")[-2]
        bundle = sign_statement(st, att_key or key).to_json()
        (root / "attestations" / f"{i:02d}-{kind}.sigstore.json").write_bytes(bundle)
    return root


def all_types() -> list[tuple[str, dict[str, Any]]]:
    """SAST, DAST, audit and gate attestations with findings in every status."""
    return [
        sast(
            [
                finding("sast", 1),
                finding(
                    "sast",
                    2,
                    status="accepted-risk",
                    status_note={"who": "alice", "why": "enum only", "until": "2026-12-31"},
                ),
            ]
        ),
        dast([finding("dast", 3)]),
        audit(
            [
                finding(
                    "audit",
                    4,
                    status="acknowledged",
                    status_note={"who": "vendor", "why": "by design"},
                    properties={
                        "firm_id": "CER-04",
                        "original_severity": "Major",
                        "original_status": "Acknowledged",
                    },
                ),
                finding(
                    "audit",
                    5,
                    status="fixed",
                    status_note={"who": "bob", "why": "patched"},
                    properties={
                        "firm_id": "CER-05",
                        "original_status": "Resolved",
                        "fix_refs": ["https://git.example.com/commit/abc123"],
                    },
                ),
            ]
        ),
        gate(),
    ]
