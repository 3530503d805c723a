"""Issue 17.3: bundles refuse unknown fields everywhere (ADR 0002) and are kilobytes.

Junk inside ``tlogEntries[].inclusionProof`` (and logId, kindVersion,
inclusionPromise, x509CertificateChain, timestampVerificationData) used to be
carried along: four 32 MiB bundles of it took 3.35 GB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from signing.sigassets import GOLDEN

from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle, InvalidBundle

TLOG = json.loads((GOLDEN / "artifact.bin.tlog.sigstore.json").read_bytes())


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["verificationMaterial"]["tlogEntries"][0]
    return entry


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "inclusionProof": lambda d: _entry(d)["inclusionProof"].update(junk=[{}] * 3),
    "checkpoint": lambda d: _entry(d)["inclusionProof"]["checkpoint"].update(junk=1),
    "logId": lambda d: _entry(d)["logId"].update(junk="x"),
    "kindVersion": lambda d: _entry(d)["kindVersion"].update(junk="x"),
    "inclusionPromise": lambda d: _entry(d)["inclusionPromise"].update(junk="x"),
    "proof hashes": lambda d: _entry(d)["inclusionProof"].update(hashes=["AAAA"] * 65),
    "proof hash type": lambda d: _entry(d)["inclusionProof"].update(hashes=[{}]),
    "tlog entries": lambda d: d["verificationMaterial"].update(tlogEntries=[_entry(d)] * 17),
    "timestamps": lambda d: d["verificationMaterial"].update(
        timestampVerificationData={"rfc3161Timestamps": [], "junk": 1}
    ),
    "timestamp": lambda d: d["verificationMaterial"].update(
        timestampVerificationData={"rfc3161Timestamps": [{"signedTimestamp": "AA==", "x": 1}]}
    ),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_unknown_fields_and_junk_are_refused(name: str) -> None:
    doc = json.loads(json.dumps(TLOG))
    assert Bundle.from_json(rfc8785.dumps(doc))  # the original parses
    EDITS[name](doc)
    with pytest.raises(InvalidBundle):
        Bundle.from_json(rfc8785.dumps(doc))


def test_certificate_chain_refuses_unknown_fields() -> None:
    doc = json.loads(json.dumps(TLOG))
    material = doc["verificationMaterial"]
    del material["publicKey"]
    material["tlogEntries"] = []
    material["x509CertificateChain"] = {"certificates": [{"rawBytes": "AAAA"}], "junk": 1}
    with pytest.raises(InvalidBundle, match="unknown field"):
        Bundle.from_json(rfc8785.dumps(doc))
    material["x509CertificateChain"] = {"certificates": [{"rawBytes": "AAAA", "junk": 1}]}
    with pytest.raises(InvalidBundle, match="unknown field"):
        Bundle.from_json(rfc8785.dumps(doc))


def test_bundles_are_kilobytes() -> None:
    assert MAX_BUNDLE_BYTES <= 4 * 1024 * 1024
    doc = json.loads(json.dumps(TLOG))
    _entry(doc)["canonicalizedBody"] = "A" * (MAX_BUNDLE_BYTES + 4)
    with pytest.raises(InvalidBundle, match="exceeds the limit"):
        Bundle.from_json(rfc8785.dumps(doc))
