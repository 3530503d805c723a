"""In-process boundaries of the one release check (issue 15 item 1, docs/mutants.md).

Mutation testing runs only in-process tests against mutants; each test here pins one
decision of ``nebsign.release_check`` at its edge: the clock it is given (never the
wall clock), the name every refusal starts with, which signer group a lone bundle is
judged by, the exact file-count and size limits, which SAST result covers a release,
and the full text of a missing-attestation refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import SHARED

from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.bundle import Bundle
from nebsign.digest import TooLarge, sha256_bytes
from nebsign.errors import InputError
from nebsign.keys import PrivateKey, generate_key, key_id
from nebsign.manifest import FileEntry, LinkEntry, Manifest
from nebsign.policy import AllOf
from nebsign.policy.trust import (
    SignerGroup,
    TrustedIdentity,
    TrustedKey,
    TrustPolicy,
    bundled_trusted_root,
)
from nebsign.release_check import (
    IgnoredBundle,
    MissingAttestation,
    ReleaseExpired,
    ReleaseRequirements,
    RequiredAttestation,
    SignatureRejected,
    WrongRelease,
    check_attestations,
    verify_release,
)
from nebsign.signing import sign_digest, sign_statement

NOW = datetime(2030, 1, 1, tzinfo=UTC)
#: a clock long past: a key valid until just after it is expired by the wall clock
PAST = datetime(2020, 1, 1, tzinfo=UTC)
PROVENANCE = "https://slsa.dev/provenance/v1"
KEY = generate_key()
OTHER = generate_key()
SHA_A = "aa" * 32
SHA_B = "bb" * 32


def _manifest(**kw: Any) -> Manifest:
    files = kw.pop("files", (FileEntry("app.py", 3, SHA_A, False),))
    return Manifest(files=files, **{"name": "app", "version": "1.0.0", **kw})


def _sig(raw: bytes, key: PrivateKey = KEY) -> bytes:
    return sign_digest(sha256_bytes(raw), key).to_json()


def _att(
    raw: bytes, predicate: dict[str, Any], kind: str = SAST_V1, key: PrivateKey = KEY
) -> bytes:
    stmt = Statement((Subject("release.json", sha256_bytes(raw)),), kind, predicate)
    return sign_statement(stmt, key).to_json()


def _covering(manifest: Manifest, verdict: str = "pass") -> dict[str, Any]:
    return {"verdict": verdict, "scanned": {e.path: f"sha256:{e.sha256}" for e in manifest.files}}


def _group(
    name: str, *keys: PrivateKey, not_after: datetime | None = None, **kw: Any
) -> SignerGroup:
    trusted = tuple(TrustedKey(key_id(k.public_key()), k.public_key(), not_after) for k in keys)
    return SignerGroup(name, trusted, (), **kw)


def _policy(*groups: SignerGroup, required: tuple[str, ...] = ()) -> TrustPolicy:
    rule = groups[0] if len(groups) == 1 else AllOf(groups)
    return TrustPolicy(rule, groups, required_predicates=required)


TRUST = _policy(_group("ops", KEY))


def _verify(
    raw: bytes,
    sigs: Sequence[tuple[str, bytes]],
    atts: Sequence[tuple[str, bytes]] = (),
    trust: TrustPolicy = TRUST,
    req: ReleaseRequirements | None = None,
    **kw: Any,
) -> Any:
    return verify_release(raw, sigs, atts, trust, req or ReleaseRequirements(), now=NOW, **kw)


# -- the clock ------------------------------------------------------------------------


def test_keys_are_judged_at_the_given_instant_not_the_wall_clock() -> None:
    """A key valid until one day after *now* (and long expired by the wall clock)."""
    m = _manifest()
    raw = m.to_json()
    trust = _policy(_group("ops", KEY, not_after=PAST + timedelta(days=1)), required=(SAST_V1,))
    sig = [("sig", _sig(raw))]
    att = [("sast", _att(raw, _covering(m)))]
    for sigs in (sig, [*sig, ("junk", b"{}")]):  # one bundle, and the per-bundle view
        out = verify_release(raw, sigs, att, trust, ReleaseRequirements(), now=PAST)
        assert out.signers == (key_id(KEY.public_key()),) and out.attestations == (SAST_V1,)
    got = check_attestations(sha256_bytes(raw), att, trust, now=PAST)
    assert got == ((SAST_V1,), ())
    # two days later the key is expired: the signature counts for nothing
    later = PAST + timedelta(days=2)
    with pytest.raises(SignatureRejected, match="none of 2 bundles verifies"):
        verify_release(raw, [*sig, ("junk", b"{}")], att, trust, ReleaseRequirements(), now=later)


# -- names in messages ----------------------------------------------------------------


def test_every_refusal_starts_with_the_release_it_names() -> None:
    m = _manifest()
    raw = m.to_json()
    sig = [("sig", _sig(raw))]
    cases: list[tuple[type[Exception], dict[str, Any], str]] = [
        (SignatureRejected, {"sigs": []}, "release.json is not signed"),
        (SignatureRejected, {"sigs": [("s", _sig(raw, OTHER))]}, "signatures on release.json"),
        (SignatureRejected, {"sigs": [("a", b"{}"), ("b", b"{}")]}, "signatures on release"),
        (WrongRelease, {"req": ReleaseRequirements(name="web")}, "release.json is for 'app'"),
        (ReleaseExpired, {"req": ReleaseRequirements(require_expires=True)}, "release.json"),
        (TooLarge, {"req": ReleaseRequirements(max_files=0)}, "more than 0 files"),
        (TooLarge, {"req": ReleaseRequirements(max_release_bytes=2)}, "payload of 3 bytes"),
        (MissingAttestation, {"trust": _policy(_group("o", KEY), required=(PROVENANCE,))}, "no"),
    ]
    for error, kw, text in cases:
        kw = {"sigs": sig, **kw}
        with pytest.raises(error) as default:
            _verify(raw, **kw)
        assert str(default.value).startswith(f"release: {text}"), (error, str(default.value))
        with pytest.raises(error) as named:
            _verify(raw, **kw, what="app 1.0.0")
        assert str(named.value).startswith(f"app 1.0.0: {text}"), (error, str(named.value))
    unversioned = Manifest(files=m.files, name="app").to_json()
    with pytest.raises(WrongRelease) as none:
        _verify(
            unversioned, [("sig", _sig(unversioned))], req=ReleaseRequirements(require_version=True)
        )
    assert str(none.value) == "release: release.json names no version"


def test_bad_bytes_are_named_by_the_manifest_and_bundle_names() -> None:
    junk = b'{"files": 1}'
    for sigs in ([], [("s", _sig(junk))], [("s", _sig(junk, OTHER))]):  # signed or not
        with pytest.raises(InputError) as info:
            _verify(junk, sigs, manifest_name="pub/app/release.json")
        assert "pub/app/release.json" in str(info.value), str(info.value)
        with pytest.raises(InputError) as default:
            _verify(junk, sigs)
        assert str(default.value).startswith("release.json"), str(default.value)
    raw = _manifest().to_json()
    with pytest.raises(InputError) as lone:
        _verify(raw, [("sigs/a.json", b"[]")])
    assert "bundle sigs/a.json" in str(lone.value)
    out = _verify(raw, [("sigs/a.json", b"[]"), ("sig", _sig(raw))], [("atts/b.json", b"[]")])
    assert [i.name for i in out.ignored] == ["sigs/a.json", "atts/b.json"]
    assert all(f"bundle {i.name}" in i.message for i in out.ignored), out.ignored


def test_an_ignored_bundle_serializes_all_three_fields() -> None:
    got = IgnoredBundle("a.sigstore.json", "signature", "wrong key").to_dict()
    assert got == {"bundle": "a.sigstore.json", "kind": "signature", "message": "wrong key"}


def test_a_refusal_of_several_bundles_names_each_reason_in_order() -> None:
    raw = _manifest().to_json()
    with pytest.raises(SignatureRejected) as info:
        _verify(raw, [("x", b"[]"), ("y", _sig(raw, OTHER))])
    text = str(info.value)
    head = "release: signatures on release.json rejected: none of 2 bundles verifies (x: "
    assert text.startswith(head) and "; y: " in text and text.endswith(")"), text
    # one bundle that verifies but not enough of them: the policy's own reason is given
    trust = _policy(_group("ops", KEY, OTHER, threshold=2))
    with pytest.raises(SignatureRejected) as few:
        _verify(raw, [("a", _sig(raw)), ("b", b"[]")], trust=trust)
    assert "ops: 1 of 2 required" in str(few.value), str(few.value)


# -- the custom parser ----------------------------------------------------------------


def test_the_given_parser_reads_the_verified_bytes() -> None:
    raw = _manifest().to_json()
    seen: list[bytes] = []
    other = _manifest(name="parsed")

    def parse(data: bytes) -> Manifest:
        seen.append(data)
        return other

    out = _verify(raw, [("sig", _sig(raw))], parse=parse)
    assert seen == [raw] and out.manifest is other and out.name == "parsed"


# -- which group judges a lone bundle --------------------------------------------------


def test_each_bundle_is_judged_by_every_group_with_threshold_one() -> None:
    """A bundle among several counts if any group trusts its key (not only the first)."""
    raw = _manifest().to_json()
    trust = _policy(_group("dev", KEY), _group("qa", OTHER))
    sigs = [("dev", _sig(raw)), ("qa", _sig(raw, OTHER)), ("junk", b"[]")]
    out = _verify(raw, sigs, trust=trust)
    assert out.signers == tuple(sorted(key_id(k.public_key()) for k in (KEY, OTHER)))
    assert [i.name for i in out.ignored] == ["junk"]
    # one group: a bundle by an untrusted key counts for nothing, with its own reason
    out = _verify(raw, [("sig", _sig(raw)), ("foreign", _sig(raw, OTHER))])
    assert [i.name for i in out.ignored] == ["foreign"]
    assert out.ignored[0].message.startswith("wrong key: "), out.ignored[0].message


def test_a_group_that_requires_a_log_entry_requires_it_of_each_bundle() -> None:
    raw = _manifest().to_json()
    trust = _policy(_group("ops", KEY, require_tlog=True))
    with pytest.raises(SignatureRejected) as info:
        _verify(raw, [("a", _sig(raw)), ("b", b"[]")], trust=trust)
    assert "none of 2 bundles verifies (a: no transparency log entry" in str(info.value)


def test_a_keyless_bundle_among_several_is_judged_with_the_policy_root() -> None:
    data = SHARED / "testdata" / "sigstore"
    raw = (data / "bundle_v3_github.whl").read_bytes()
    bundle = (data / "bundle_v3_github.whl.sigstore").read_bytes()
    ident = (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )
    issuer = "https://token.actions.githubusercontent.com"
    trust = TrustPolicy.from_identities(
        [TrustedIdentity(issuer, ident)], bundled_trusted_root("production")
    )
    parsed = _manifest()
    out = _verify(raw, [("keyless", bundle), ("junk", b"[]")], trust=trust, parse=lambda _: parsed)
    assert out.signers == (f"{ident} ({issuer})",) and [i.name for i in out.ignored] == ["junk"]


# -- the manifest's limits --------------------------------------------------------------


def test_file_count_and_size_limits_are_inclusive() -> None:
    files = (FileEntry("a.py", 3, SHA_A, False), FileEntry("b.txt", 4, SHA_B, False))
    m = _manifest(files=files, symlinks=(LinkEntry("c.py", "a.py"),))
    raw = m.to_json()
    sig = [("sig", _sig(raw))]
    assert (
        _verify(raw, sig, req=ReleaseRequirements(max_files=3, max_release_bytes=7)).manifest == m
    )
    with pytest.raises(TooLarge) as many:  # a symlink counts as a file
        _verify(raw, sig, req=ReleaseRequirements(max_files=2))
    assert str(many.value) == "release: more than 2 files"
    with pytest.raises(TooLarge) as big:
        _verify(raw, sig, req=ReleaseRequirements(max_release_bytes=6))
    assert str(big.value) == (
        "release: payload of 7 bytes exceeds the host limit of 6 bytes (oversized release)"
    )


def test_expiry_and_name_refusals_in_full() -> None:
    m = _manifest(expires="2029-12-31T23:59:59Z")
    raw = m.to_json()
    with pytest.raises(ReleaseExpired) as old:
        _verify(raw, [("sig", _sig(raw))])
    assert str(old.value) == (
        "release: signed manifest expired at 2029-12-31T23:59:59Z (stale or frozen release refused)"
    )
    with pytest.raises(WrongRelease) as wrong:
        _verify(raw, [("sig", _sig(raw))], req=ReleaseRequirements(name="web"))
    assert str(wrong.value) == "release: release.json is for 'app', this host installs 'web'"


# -- attestations -----------------------------------------------------------------------


def test_a_sast_result_counts_only_if_it_covers_the_release() -> None:
    files = (FileEntry("a.py", 3, SHA_A, False), FileEntry("b.py", 3, SHA_B, False))
    m = _manifest(files=files)
    raw = m.to_json()
    sig = [("sig", _sig(raw))]
    partial = ("partial", _att(raw, {"verdict": "pass", "scanned": {}}))
    full = ("full", _att(raw, _covering(m)))
    req = ReleaseRequirements(attestations=(RequiredAttestation(SAST_V1, "pass"),))
    out = _verify(raw, sig, [partial, full], req=req)  # the covering one after it still counts
    assert out.attestations == (SAST_V1,)
    assert [i.to_dict() for i in out.ignored] == [
        {
            "bundle": "partial",
            "kind": "attestation",
            "message": "the SAST result does not cover the release: a.py: not scanned",
        }
    ]
    with pytest.raises(MissingAttestation) as info:
        _verify(raw, sig, [partial], req=req)
    assert str(info.value) == (
        f"release: no verified {SAST_V1} attestation with verdict 'pass' covers release.json"
        "; ignored: the SAST result does not cover the release: a.py: not scanned"
    )
    # without a manifest (an artifact), the same statement counts
    assert check_attestations(sha256_bytes(raw), [partial], TRUST, now=NOW)[0] == (SAST_V1,)


def test_other_predicate_types_need_no_scanned_table() -> None:
    m = _manifest()
    raw = m.to_json()
    trust = _policy(_group("ops", KEY), required=(PROVENANCE,))
    out = _verify(
        raw, [("sig", _sig(raw))], [("prov", _att(raw, {"builder": "ci"}, PROVENANCE))], trust
    )
    assert out.attestations == (PROVENANCE,) and out.ignored == ()


def test_missing_attestation_refusals_in_full() -> None:
    m = _manifest()
    raw = m.to_json()
    sig = [("sig", _sig(raw))]
    trust = _policy(_group("ops", KEY), required=(PROVENANCE,))
    sast = ("sast", _att(raw, _covering(m)))
    req = ReleaseRequirements(attestations=(RequiredAttestation(SAST_V1, "pass"),))
    with pytest.raises(MissingAttestation) as second:  # the first requirement is met
        _verify(raw, sig, [sast], trust, req)
    assert str(second.value) == (
        f"release: no verified {PROVENANCE} attestation covers release.json"
    )
    no_verdict = ("nv", _att(raw, {"scanned": _covering(m)["scanned"], "verdict": 7}))
    with pytest.raises(MissingAttestation) as odd:
        _verify(raw, sig, [no_verdict], req=req)
    assert str(odd.value) == (
        f"release: no verified {SAST_V1} attestation with verdict 'pass' covers "
        "release.json (found verdicts [''])"
    )
    bad = ("bad", b"[]")
    with pytest.raises(MissingAttestation) as ignored:
        _verify(raw, sig, [bad], req=req)
    assert str(ignored.value).endswith(
        f"covers release.json; ignored: {_bundle_error(bad[1], 'bad')}"
    )


def _bundle_error(raw: bytes, name: str) -> str:
    with pytest.raises(InputError) as info:
        Bundle.from_json(raw, f"bundle {name}")
    return info.value.message


def test_an_attestation_digest_may_carry_its_prefix() -> None:
    m = _manifest()
    raw = m.to_json()
    att = [("sast", _att(raw, _covering(m)))]
    sha = sha256_bytes(raw)
    required = (RequiredAttestation(SAST_V1, "pass"),)
    assert check_attestations(f"sha256:{sha}", att, TRUST, required, now=NOW) == ((SAST_V1,), ())
    with pytest.raises(MissingAttestation) as info:
        check_attestations(f"sha256:{SHA_A}", att, TRUST, required, now=NOW, what="art")
    assert str(info.value).startswith(f"art: no verified {SAST_V1} attestation with verdict")
    assert "ignored: a " + SAST_V1 + " statement is about other artifacts" in str(info.value)
    with pytest.raises(MissingAttestation) as default:
        check_attestations(SHA_A, att, TRUST, required, now=NOW)
    assert str(default.value).startswith(f"release: no verified {SAST_V1}")
