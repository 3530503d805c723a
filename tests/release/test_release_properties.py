"""Hypothesis over the release check's untrusted inputs and the CLI's escaping.

Whatever bytes a release carries (manifest, signature and attestation
bundles), verify_release raises a NebsignError or returns a verdict whose
signers are trusted: never another exception, never a pass for bytes that
were not signed. Whatever a name holds, `shown` prints it on one line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.cli._output import shown
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.keys import generate_key, key_id
from nebsign.manifest import FileEntry, Manifest
from nebsign.policy.trust import TrustPolicy
from nebsign.release_check import ReleaseRequirements, RequiredAttestation, verify_release
from nebsign.signing import sign_digest

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2030, 1, 1, tzinfo=UTC)
KEY = generate_key()
TRUST = TrustPolicy.from_keys([KEY.public_key()])
GOOD = Manifest(
    files=(FileEntry("a.txt", 1, "ab" * 32, False),), symlinks=(), name="app", version="1.0.0"
).to_json()
GOOD_SIG = sign_digest(sha256_bytes(GOOD), KEY).to_json()
REQ = ReleaseRequirements(
    require_version=True,
    attestations=(RequiredAttestation("https://nebsign.dev/attestation/sast/v1", "pass"),),
)
blobs = st.binary(max_size=300) | st.just(GOOD_SIG) | st.just(GOOD)
json_blobs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
).map(lambda v: json.dumps(v).encode())


@SETTINGS
@given(
    manifest=blobs | json_blobs,
    sigs=st.lists(blobs | json_blobs, max_size=3),
    atts=st.lists(blobs | json_blobs, max_size=3),
)
def test_any_bytes_give_a_nebsign_error_or_a_trusted_verdict(
    manifest: bytes, sigs: list[bytes], atts: list[bytes]
) -> None:
    try:
        out = verify_release(
            manifest,
            [(f"s{i}", b) for i, b in enumerate(sigs)],
            [(f"a{i}", b) for i, b in enumerate(atts)],
            TRUST,
            ReleaseRequirements(),
            now=NOW,
        )
    except (InputError, VerdictError):  # refused as bad input or as failing, never exit 3
        return
    assert manifest == GOOD and GOOD_SIG in sigs  # only the signed bytes ever pass
    assert out.signers == (key_id(KEY.public_key()),)
    # and a required attestation none of them carries is a verdict (exit 1), whatever
    # the attestation bundles hold
    with pytest.raises(VerdictError):
        verify_release(manifest, [("s", GOOD_SIG)], [(f"a{i}", b) for i, b in enumerate(atts)],
                       TRUST, REQ, now=NOW)  # fmt: skip


@SETTINGS
@given(st.text(max_size=60))
def test_shown_is_one_printable_line(text: str) -> None:
    out = shown(text)
    assert out.isprintable()
    assert "\n" not in out and "\r" not in out and "\x1b" not in out
    if text.isprintable():
        assert out == text


@SETTINGS
@given(st.binary(max_size=40))
def test_shown_of_file_system_names(raw: bytes) -> None:
    name = raw.decode("utf-8", "surrogateescape")
    out = shown(name)
    assert out.isprintable()
    out.encode("utf-8")  # printable text, no lone surrogates
