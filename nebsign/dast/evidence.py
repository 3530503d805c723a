"""Hits to findings: evidence, a reproducible curl command with secrets redacted,
and the stable fingerprint (method + normalized route + parameter + rule)."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlsplit

from nebsign.dast.checks.interface import ActiveCheck, Hit
from nebsign.dast.model import RequestSpec, route_of
from nebsign.dast.passive import PassiveHit
from nebsign.digest import sha256_bytes
from nebsign.findings import Finding, Location, Source

__all__ = ["TOOL", "curl_command", "dast_fingerprint", "finding_of_hit", "finding_of_passive"]

TOOL = "nebsign-dast"
MAX_EXCERPT = 600
_SECRET = re.compile(r"authorization|cookie|token|secret|passw|api[-_]?key|session|auth", re.I)


def dast_fingerprint(rule_id: str, method: str, url: str, parameter: str | None) -> str:
    """Hex SHA-256 of rule, method, route (ids collapsed, no host) and parameter."""
    payload = "\0".join(
        ("nebsign-dast-v1", rule_id, method.upper(), route_of(url), parameter or "")
    )
    return sha256_bytes(payload.encode("utf-8"))


def _clip(text: str, limit: int = MAX_EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def curl_command(spec: RequestSpec, *, injected: str | None = None) -> str:
    """A curl command line reproducing *spec*; secret-looking headers and cookies redacted.

    The scan's own credentials are never part of a spec; the command says where
    to add them.
    """
    parts = ["curl", "-sS", "-i"]
    if spec.method != "GET" or spec.form is not None or spec.body is not None:
        parts += ["-X", spec.method]
    parts.append(spec.full_url())
    for name, value in spec.headers:
        shown = "<redacted>" if _SECRET.search(name) else value
        parts += ["-H", f"{name}: {shown}"]
    if spec.cookies:
        cookie = "; ".join(
            f"{k}={'<redacted>' if _SECRET.search(k) and k != injected else v}"
            for k, v in spec.cookies
        )
        parts += ["-b", cookie]
    if spec.body is not None:
        parts += ["--data-binary", spec.body.decode("utf-8", "replace")]
    elif spec.json_body is not None:
        import json

        parts += ["-H", "Content-Type: application/json", "--data", json.dumps(spec.json_body)]
    elif spec.form is not None:
        for k, v in spec.form:
            parts += ["--data-urlencode", f"{k}={v}"]
    return " ".join(shlex.quote(p) for p in parts)


def finding_of_hit(check: ActiveCheck, hit: Hit) -> Finding:
    spec = hit.request
    base = spec.url.split("#")[0]
    props: dict[str, Any] = {
        "kind": "active",
        "payload": _clip(hit.payload),
        "request": {"method": spec.method, "url": _clip(spec.full_url(), 2000)},
        "curl": _clip(curl_command(spec, injected=hit.parameter), 4000),
        "evidence": _clip(hit.proof),
        "route": route_of(base),
    }
    if hit.response is not None:
        props["response"] = {"status": hit.response.status}
    if check.xss:
        props["browser_confirmed"] = None  # None: not run in a browser (see --browser)
    props.update(hit.properties)
    return Finding(
        source=Source.DAST,
        tool=TOOL,
        rule_id=check.rule_id,
        severity=check.severity,
        confidence=hit.confidence,
        title=check.title,
        message=hit.message,
        recommendation=check.recommendation,
        location=Location(url=base, parameter=hit.parameter, method=spec.method),
        cwe=check.cwe,
        snippet=_clip(hit.proof),
        fingerprint=dast_fingerprint(check.rule_id, spec.method, base, hit.parameter),
        properties=props,
    )


def finding_of_passive(hit: PassiveHit) -> Finding:
    resp = hit.response
    base = resp.url.split("?")[0].split("#")[0]
    method = resp.method
    if hit.key.startswith(("http://", "https://")):  # site-wide: one finding per origin
        parts = urlsplit(base)
        where, method = f"{parts.scheme}://{parts.netloc}/", "GET"
        fp_url = f"{where} {hit.key.split(' ', 1)[1] if ' ' in hit.key else ''}"
    else:
        where, fp_url = base, base
    return Finding(
        source=Source.DAST,
        tool=TOOL,
        rule_id=hit.rule.rule_id,
        severity=hit.rule.severity,
        confidence=hit.rule.confidence,
        title=hit.rule.title,
        message=hit.message,
        recommendation=hit.rule.recommendation,
        location=Location(url=where, parameter=hit.parameter, method=method),
        cwe=hit.rule.cwe,
        snippet=_clip(hit.proof),
        fingerprint=dast_fingerprint(hit.rule.rule_id, "GET", fp_url, hit.parameter),
        properties={
            "kind": "passive",
            "evidence": _clip(hit.proof),
            "seen_at": _clip(resp.url, 2000),
            "response": {"status": resp.status},
            "route": route_of(where),
        },
    )
