"""The low-S rule at its exact boundary: s == (n - 1) / 2 (docs/mutants.md).

``_high_s`` refuses an ECDSA P-256 signature whose s is over n / 2 (ADR 0006). A
random signature never has s at exactly (n - 1) / 2, so one is made on purpose:
ECDSA's s = k^-1 (z + r d) mod n is solved for the private key d with s, k and
the message chosen (r is the x coordinate of k·G, computed by ``cryptography``
as the public key of the private scalar k). The result is an ordinary valid
signature, checked by ``cryptography`` itself before nebsign sees it.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from nebsign.bundle import Bundle, MessageSignature
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import SignatureMismatch, verify_artifact

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ARTIFACT = hashlib.sha256(b"the artifact").hexdigest()


def _signature_with_s(s: int, message: bytes) -> tuple[ec.EllipticCurvePublicKey, int]:
    """(public key, r) such that (r, s) is a valid ECDSA-SHA256 signature of *message*."""
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    while True:
        k = secrets.randbelow(N - 1) + 1
        r = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers().x % N
        d = (s * k - z) * pow(r, -1, N) % N
        if r and d:
            public = ec.derive_private_key(d, ec.SECP256R1()).public_key()
            sig = utils.encode_dss_signature(r, s)
            public.verify(sig, message, ec.ECDSA(hashes.SHA256()))  # raises if not valid
            return public, r


def _bundle(r: int, s: int) -> Bundle:
    digest = bytes.fromhex(ARTIFACT)
    return Bundle(
        content=MessageSignature(utils.encode_dss_signature(r, s), digest), public_key_hint=None
    )


def test_s_of_exactly_half_the_order_is_low_and_its_twin_is_high() -> None:
    half = (N - 1) // 2  # n is odd: the twin of s = (n-1)/2 is n - s = (n+1)/2
    public, r = _signature_with_s(half, bytes.fromhex(ARTIFACT))
    policy = TrustPolicy.from_keys([public])
    got = verify_artifact(ARTIFACT, [_bundle(r, half)], policy)
    assert len(got.signers) == 1
    public.verify(
        utils.encode_dss_signature(r, N - half),
        bytes.fromhex(ARTIFACT),
        ec.ECDSA(hashes.SHA256()),
    )  # the twin is just as valid for cryptography ...
    with pytest.raises(SignatureMismatch) as info:  # ... and refused by nebsign's rule
        verify_artifact(ARTIFACT, [_bundle(r, N - half)], policy)
    assert info.value.message.startswith("high-S ECDSA signature: ")
