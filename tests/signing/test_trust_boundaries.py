"""In-process boundaries of the trust policy and its TOML loader (issue 15 item 1).

Mutation testing (docs/mutants.md) runs only in-process tests against mutants: each
test here pins one decision of ``nebsign.policy.trust`` / ``trust_toml`` at its edge
(what a group counts, thresholds, purposes, which root a keyless policy gets, what a
pinned file must hash to) and the full text of every refusal, so that a one-token
change to the policy model or its loader fails a test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from nebsign.errors import InputError
from nebsign.keys import generate_key, key_id, load_public_key, public_key_pem
from nebsign.policy.trust import (
    BUNDLED_TRUSTED_ROOTS,
    Evidence,
    InvalidPolicy,
    Purposes,
    Signer,
    SignerGroup,
    ThresholdNotMet,
    TrustedIdentity,
    TrustedKey,
    TrustedRoot,
    TrustPolicy,
    bundled_trusted_root,
)

PUB = generate_key().public_key()
KID = key_id(PUB)
PEM = public_key_pem(PUB).decode()
PUB2 = generate_key().public_key()
KID2 = key_id(PUB2)
GH = "https://token.actions.githubusercontent.com"
WF = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"
SAST = "https://nebsign.dev/attestation/sast/v1"
KEYS = f'[[keys]]\nid = "{KID}"\npem = """{PEM}"""\n'


def _load(text: str, base: Path | None = None, what: str | None = None) -> TrustPolicy:
    raw = ("version = 1\n" + text).encode()
    if what is None:
        return TrustPolicy.from_toml(raw, base)
    return TrustPolicy.from_toml(raw, base, what)


def _refusal(text: str, base: Path | None = None) -> InvalidPolicy:
    with pytest.raises(InvalidPolicy) as info:
        _load(text, base)
    return info.value


def _key(**fields: object) -> str:
    lines = "".join(f"{k} = {v}\n" for k, v in fields.items())
    return f"[[keys]]\n{lines}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the loader: every refusal, word for word ----------------------------------------


K0 = "policy: policy.keys[0]"
I0 = "policy: policy.identities[0]"
ID = f"[[identities]]\nissuer = '{GH}'\nidentity = '{WF}'\n"
PEMQ = f'"""{PEM}"""'
HEX_A = f'"{"a" * 64}"'
LONG_ID = "f" * 100
PIN = f"{K0}: path needs a sha256 pin (64 lowercase hex)"
ROOT_PIN = "policy: [sigstore] trusted_root needs a sha256 pin (64 lowercase hex)"
WHEN = f"{K0}.not_after must be a UTC time like 2027-01-01T00:00:00Z"
PREDS = "policy: required_predicates: must be a list of URIs"
INLINE = f"{K0}: an inline pem needs its id (hex SHA-256)"
ONE_ROOT = "policy: [sigstore] takes either instance or trusted_root"
SIGSTORE = "policy: [sigstore]: takes trusted_root + sha256, or instance"
GROUP_KEYS = KEYS.replace("[[keys]]", "[[any_of.keys]]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"threshold = 1\n[[all_of]]\n{KEYS.replace('[[keys]]', '[[all_of.keys]]')}", None),
        ("", None),
        (f"a=1\nb=1\nc=1\nd=1\ne=1\nf=1\n{KEYS}",
         "policy: unknown field 'a'"),
        (f"require_tlog = 'yes'\n{KEYS}", "policy: require_tlog: must be true or false"),
        (f"required_predicates = 'x'\n{KEYS}", PREDS),
        (f"required_predicates = [1]\n{KEYS}", PREDS),
        ("keys = 5\n", "policy: policy.keys: must be a list of tables ([[policy.keys]])"),
        ("keys = [1]\n", "policy: policy.keys: must be a list of tables ([[policy.keys]])"),
        ("identities = [1]\n", "policy: policy.identities: must be a list of tables "
                               "([[policy.identities]])"),
        ("all_of = [1]\n", "policy: all_of: must be a list of tables ([[all_of]])"),
        (f"threshold = true\n{KEYS}", "policy: policy.threshold: must be an integer"),
        (f"threshold = '1'\n{KEYS}", "policy: policy.threshold: must be an integer"),
        (f"{KEYS}x = 1\n", f"{K0}: unknown field 'x'"),
        (_key(pem=PEMQ, path='"k.pub"'), f"{K0} needs exactly one of pem and path"),
        (_key(), f"{K0} needs exactly one of pem and path"),
        (_key(pem=PEMQ), INLINE),
        (_key(pem="1", id=f'"{KID}"'), INLINE),
        (_key(path='"k.pub"'), PIN),
        (_key(path='"k.pub"', sha256=f'"{"A" * 64}"'), PIN),
        (_key(path="5", sha256=HEX_A), PIN),
        (_key(path='"k.pub"', sha256="5"), PIN),
        (KEYS + _key(id=f"'{LONG_ID}'", pem=PEMQ),
         f"policy: policy.keys[1]: id {'f' * 80} does not match the key ({KID})"),
        (f"{KEYS}not_after = 'soon'\n", WHEN),
        (f"{KEYS}not_after = '2027-01-01T00:00:00z'\n", WHEN),
        (f"{KEYS}not_after = '2027-01-01T00:00:00'\n", WHEN),
        (f"{KEYS}purposes = []\n", f"{K0}.purposes: must be a non-empty list of strings"),
        (f"{ID}x = 1\n", f"{I0}: unknown field 'x'"),
        (f"[[identities]]\nidentity = '{WF}'\n", f"{I0} needs an issuer and identity strings"),
        (f"[[identities]]\nissuer = '{GH}'\nidentity = 5\n",
         f"{I0} needs an issuer and identity strings"),
        (f"{ID}purposes = 'x'\n", f"{I0}.purposes: must be a non-empty list of strings"),
        ("[[any_of]]\nname = 'qa'\nkeys = 1\n",
         "policy: qa.keys: must be a list of tables ([[qa.keys]])"),
        (f"[[any_of]]\n{GROUP_KEYS}x = 1\n", "policy: any_of[0].keys[0]: unknown field 'x'"),
        (f"{KEYS}[sigstore]\nx = 1\n", "policy: [sigstore]: unknown key 'x'"),
        (f"sigstore = []\n{KEYS}", SIGSTORE),
        (f"{KEYS}[sigstore]\ninstance = 'staging'\ntrusted_root = 'r.json'\n", ONE_ROOT),
        (f"{KEYS}[sigstore]\ninstance = 5\n", ONE_ROOT),
        (f"{KEYS}[sigstore]\ntrusted_root = 'r.json'\n", ROOT_PIN),
        (f"{KEYS}[sigstore]\ntrusted_root = 'r.json'\nsha256 = 'ab'\n", ROOT_PIN),
        (f"{KEYS}[sigstore]\ntrusted_root = 5\nsha256 = {HEX_A}\n", ROOT_PIN),
        (f"{KEYS}[sigstore]\ninstance = 'dev'\n",
         "unknown Sigstore instance 'dev'; use production or staging"),
    ],
)  # fmt: skip
def test_each_malformed_policy_is_refused_with_its_own_message(
    text: str, message: str | None
) -> None:
    err = _refusal(text)
    if message is None:  # signers given both ways, or not at all
        message = (
            "policy: give signers either at top level (keys/identities/threshold) "
            "or as [[all_of]] / [[any_of]] groups, exactly one of these"
        )
        assert err.hint == "a policy that trusts nobody would pass nothing"
    assert err.message == message


def test_version_and_the_name_of_the_policy_in_messages() -> None:
    with pytest.raises(InvalidPolicy) as default:
        TrustPolicy.from_toml(f"version = 2\n{KEYS}".encode())
    assert default.value.message == "policy: version = 1 is required"
    with pytest.raises(InvalidPolicy) as named:
        TrustPolicy.from_toml(f"version = 2\n{KEYS}".encode(), None, "etc/trust.toml")
    assert named.value.message == "etc/trust.toml: version = 1 is required"
    with pytest.raises(InvalidPolicy) as syntax:  # the TOML parser's error names it too
        TrustPolicy.from_toml(b"version = = 1", None, "etc/trust.toml")
    assert syntax.value.message.startswith("etc/trust.toml: ")


def test_an_input_error_inside_the_policy_keeps_its_message_and_hint() -> None:
    from nebsign.keys import private_key_pem

    private = private_key_pem(generate_key(), None).decode()
    with pytest.raises(InputError) as direct:
        load_public_key(private.encode(), "policy policy.keys[0]")
    assert direct.value.hint  # "a private key? ..."
    err = _refusal(f'[[keys]]\nid = "{KID}"\npem = """{private}"""\n')
    assert (err.message, err.hint) == (direct.value.message, direct.value.hint)
    assert err.message == "policy policy.keys[0]: not a PEM public key"


# -- the loader: what a valid policy means -------------------------------------------------


def test_a_flat_policy_is_one_group_named_policy() -> None:
    raw = f"version = 1\nthreshold = 1\n{KEYS}".encode()
    policy = TrustPolicy.from_toml(raw)
    assert policy.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert [g.name for g in policy.groups] == ["policy"] and policy.trusted_root is None
    with pytest.raises(ThresholdNotMet) as info:
        policy.verify(Evidence(frozenset()))
    assert info.value.message == (
        f"policy: 0 of 1 required distinct trusted signer(s) (found none; trusted: {KID})"
    )


def test_groups_take_their_names_their_order_and_the_log_requirement() -> None:
    k2 = f'[[any_of.keys]]\nid = "{KID2}"\npem = """{public_key_pem(PUB2).decode()}"""\n'
    text = f"require_tlog = true\n[[any_of]]\nname = 'release'\n{GROUP_KEYS}[[any_of]]\n{k2}"
    policy = _load(text)
    assert [(g.name, g.require_tlog) for g in policy.groups] == [
        ("release", True),
        ("any_of[1]", True),
    ]
    assert policy.require_tlog and set(policy.keys) == {KID, KID2}
    policy.verify(Evidence(frozenset({Signer(KID2)}), frozenset({Signer(KID2)})))
    with pytest.raises(Exception, match=r"release: 0 of 1 .*any_of\[1\]: 0 of 1"):
        policy.verify(Evidence(frozenset({Signer(KID2)})))  # signed, but not logged


def test_keys_from_files_are_read_relative_to_the_policy_or_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "k.pub").write_text(PEM)
    text = _key(path='"k.pub"', sha256=f'"{_sha(tmp_path / "k.pub")}"')
    assert set(_load(text, tmp_path).keys) == {KID}
    monkeypatch.chdir(tmp_path)
    assert set(_load(text).keys) == {KID}  # no base_dir: the working directory
    other = _key(path='"k.pub"', sha256=f'"{"0" * 64}"')
    err = _refusal(other)
    assert err.message == (
        f"public key k.pub: SHA-256 is {_sha(tmp_path / 'k.pub')}, the policy pins {'0' * 64}"
    )
    assert (
        err.hint == "the file changed since the policy was written; re-pin it only if you trust it"
    )
    missing = _refusal(_key(path='"nope.pub"', sha256=f'"{"0" * 64}"'))
    assert missing.message.startswith("cannot read public key nope.pub: ")


def test_a_pinned_trusted_root_file(tmp_path: Path) -> None:
    root = tmp_path / "root.json"
    root.write_bytes(b'{"mediaType": "x"}')
    sha = _sha(root)
    policy = _load(f"{KEYS}[sigstore]\ntrusted_root = 'root.json'\nsha256 = '{sha}'\n", tmp_path)
    assert policy.trusted_root == TrustedRoot("root.json", sha, root.read_bytes())
    err = _refusal(
        f"{KEYS}[sigstore]\ntrusted_root = 'root.json'\nsha256 = '{'0' * 64}'\n", tmp_path
    )
    assert err.message == f"trusted root {root}: SHA-256 is {sha}, the policy pins {'0' * 64}"


def test_keyless_policies_get_the_production_root_unless_they_pin_one() -> None:
    ident = f"[[identities]]\nissuer = '{GH}'\nidentity = '{WF}'\n"
    assert _load(ident).trusted_root == bundled_trusted_root("production")
    staging = _load(f"{ident}[sigstore]\ninstance = 'staging'\n").trusted_root
    assert staging == bundled_trusted_root("staging")
    assert _load(f"{KEYS}[sigstore]\ninstance = 'staging'\n").trusted_root == staging
    assert _load(KEYS).trusted_root is None  # keys only: no root needed
    only_ids = _load(f"threshold = 1\n{ident}")  # identities only is a flat policy
    assert only_ids.identities == (TrustedIdentity(GH, WF),)


def test_identities_are_read_field_by_field() -> None:
    text = (
        f"[[identities]]\nissuer = '{GH}'\nidentity = '{WF}'\npurposes = ['attestations']\n"
        f"[[identities]]\nissuer = '{GH}'\nidentity_regex = '^https://x/.*'\n"
    )
    assert _load(text).identities == (
        TrustedIdentity(GH, WF, None, Purposes(False, True, None)),
        TrustedIdentity(GH, None, "^https://x/.*"),
    )


def test_key_fields_expiry_and_purposes() -> None:
    text = f"{KEYS}not_after = 2027-01-01T00:00:00\npurposes = ['sast']\n"
    key = _load(text).keys[KID]
    assert key.not_after == datetime(2027, 1, 1, tzinfo=UTC)  # a TOML local time is UTC
    assert key.purposes == Purposes(False, True, frozenset({SAST}))
    offset = _load(f"{KEYS}not_after = 2027-01-01T00:00:00+02:00\n").keys[KID].not_after
    assert offset == datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    zulu = _load(f"{KEYS}not_after = '2027-01-01T00:00:00Z'\n").keys[KID].not_after
    assert zulu == datetime(2027, 1, 1, tzinfo=UTC) and zulu.utcoffset() == timedelta(0)


# -- purposes -------------------------------------------------------------------------------


def test_purposes_read_uris_and_refuse_what_is_not_one() -> None:
    uri = "https://example.com/predicate/v1"
    assert Purposes.parse([uri, "artifacts"], "k") == Purposes(True, True, frozenset({uri}))
    longest = "https://" + "a" * (2000 - len("https://"))
    assert Purposes.parse([longest], "k").predicate_types == frozenset({longest})
    for bad in (longest + "a", "https://exämple.com/p", "ftp://example.com/p", "x" * 100):
        with pytest.raises(InvalidPolicy) as info:
            Purposes.parse([bad], "k")
        assert info.value.message == (
            f"policy: k.purposes: {bad[:80]!r} is not artifacts, attestations, "
            "a predicate short name or an https:// predicate type"
        )


def test_purposes_print_what_they_allow() -> None:
    assert str(Purposes()) == "artifacts and attestations"
    assert str(Purposes(False, False)) == "nothing"
    assert str(Purposes(True, False)) == "artifacts"
    assert str(Purposes(False, True, frozenset({"https://b", "https://a"}))) == (
        "attestations of https://a, https://b"
    )


# -- the model ------------------------------------------------------------------------------


def test_identities_refuse_both_or_neither_and_bad_regexes() -> None:
    for args in ((GH,), (GH, WF, "x")):
        with pytest.raises(InvalidPolicy) as info:
            TrustedIdentity(*args)
        assert info.value.message == (
            "policy: an identity needs exactly one of identity, identity_regex"
        )
    with pytest.raises(InvalidPolicy) as bad:
        TrustedIdentity(GH, identity_regex="(")
    assert bad.value.message.startswith("policy: bad identity_regex: missing ), ")
    assert str(TrustedIdentity(GH, WF)) == f"{WF} ({GH})"
    assert str(TrustedIdentity(GH, identity_regex="^a.*")) == f"~/^a.*/ ({GH})"


SIGNERS = "trusted signer(s)"
GRP = "policy group 'g'"


def _tk(pub: object = PUB) -> TrustedKey:
    return TrustedKey(key_id(pub), pub)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("keys", "identities", "threshold", "message"),
    [
        ((), (), 1, "policy group 'g' trusts no key and no identity"),
        (("a", "a"), (), 1, "policy group 'g' lists a key twice"),
        (("a",), (), True, "policy group 'g': threshold must be an integer"),
        (("a",), (), "1", "policy group 'g': threshold must be an integer"),
        (("a",), (), 0, f"{GRP}: threshold 0 must be between 1 and the 1 {SIGNERS}"),
        (("a",), ("id",), 3, f"{GRP}: threshold 3 must be between 1 and the 2 {SIGNERS}"),
    ],
)  # fmt: skip
def test_signer_groups_refuse_impossible_thresholds(
    keys: tuple[str, ...], identities: tuple[str, ...], threshold: object, message: str
) -> None:
    trusted = tuple(_tk() for _ in keys)
    ids = tuple(TrustedIdentity(GH, WF) for _ in identities)
    with pytest.raises(InvalidPolicy) as info:
        SignerGroup("g", trusted, ids, threshold)  # type: ignore[arg-type]
    assert info.value.message == message


def test_a_regex_identity_may_stand_for_any_number_of_signers() -> None:
    regex = TrustedIdentity(GH, identity_regex="^https://github.com/org/.*")
    group = SignerGroup("g", (), (TrustedIdentity(GH, WF), regex), 3)
    assert group.threshold == 3
    assert (
        TrustPolicy.from_identities([regex], bundled_trusted_root("production"), threshold=4)
        .groups[0]
        .threshold
        == 4
    )
    with pytest.raises(InvalidPolicy):
        SignerGroup("g", (), (TrustedIdentity(GH, WF), TrustedIdentity(GH, "b")), 3)


def test_a_group_counts_logged_signers_only_when_it_requires_the_log() -> None:
    a, b = Signer(KID), Signer(KID2)
    group = SignerGroup("ops", (_tk(), _tk(PUB2)), (TrustedIdentity(GH, WF),), 2, True)
    with pytest.raises(ThresholdNotMet) as info:
        group.verify(Evidence(frozenset({a, b}), frozenset({b}), ("x: bad", "y: worse")))
    assert info.value.message == (
        f"ops: 1 of 2 required distinct trusted signer(s) (found {KID2}; trusted: {KID}, {KID2}, "
        f"{WF} ({GH}) (only signatures with a verified transparency log entry count); "
        "x: bad; y: worse)"
    )
    group.verify(Evidence(frozenset({a, b}), frozenset({a, b})))
    loose = SignerGroup("ops", (_tk(), _tk(PUB2)), (), 2)
    loose.verify(Evidence(frozenset({a, b})))  # not logged: counts without the requirement
    three = SignerGroup("ops", (_tk(), _tk(PUB2), _tk(generate_key().public_key())), (), 3)
    with pytest.raises(ThresholdNotMet) as two:
        three.verify(Evidence(frozenset({a, b})))
    assert f"(found {min(KID, KID2)}, {max(KID, KID2)}; trusted: " in two.value.message


def test_policy_constructors_name_their_group() -> None:
    keyed = TrustPolicy.from_keys([PUB], require_tlog=True)
    assert [(g.name, g.require_tlog) for g in keyed.groups] == [("--key", True)]
    assert TrustPolicy.from_keys([PUB]).groups[0].require_tlog is False
    with pytest.raises(ThresholdNotMet, match=r"^--key: 0 of 1 "):
        keyed.verify(Evidence(frozenset()))
    keyless = TrustPolicy.from_identities(
        [TrustedIdentity(GH, WF)], bundled_trusted_root("staging")
    )
    with pytest.raises(ThresholdNotMet, match=r"^--identity: 0 of 1 "):
        keyless.verify(Evidence(frozenset()))
    with pytest.raises(InvalidPolicy) as empty:
        TrustPolicy(keyed.rule, ())
    assert empty.value.message == "policy trusts no signer: an empty policy would pass nothing"


def test_bundled_roots_are_named_and_pinned() -> None:
    root = bundled_trusted_root("production")
    rel, sha = BUNDLED_TRUSTED_ROOTS["production"]
    assert (root.name, root.sha256) == (f"production ({rel})", sha)
    assert hashlib.sha256(root.data).hexdigest() == sha
    with pytest.raises(InvalidPolicy) as info:
        bundled_trusted_root("dev")
    assert info.value.message == "unknown Sigstore instance 'dev'; use production or staging"


def test_a_bundled_root_that_does_not_match_its_pin_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rel, sha = BUNDLED_TRUSTED_ROOTS["staging"]
    monkeypatch.setitem(BUNDLED_TRUSTED_ROOTS, "staging", (rel, "0" * 64))
    with pytest.raises(InvalidPolicy) as info:
        bundled_trusted_root("staging")
    assert info.value.message.startswith("trusted root ")
    assert info.value.message.endswith(f"{rel}: SHA-256 is {sha}, the policy pins {'0' * 64}")


def test_identity_purposes_of_a_signer_without_identity_or_issuer() -> None:
    regex = TrustedIdentity(GH, identity_regex=".*", purposes=Purposes(False, True))
    policy = TrustPolicy.from_identities([regex], bundled_trusted_root("production"))
    assert policy.identity_purposes(Signer(identity=WF, issuer=GH)) == [Purposes(False, True)]
    for half in (Signer(issuer=GH), Signer(identity=WF), Signer(KID)):
        assert policy.identity_purposes(half) == []
