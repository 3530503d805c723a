"""Demo step: keys, Sigstore bundles, trust policy, verification and refusals (offline).

Leaves for later steps in ``ctx.values``: ``signing_key`` (private key object),
``public_key_path``, ``key_id``, ``manifest_bundle_path``, ``trust_policy_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from nebsign._internal.atomic import atomic_write
from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.bundle import Bundle
from nebsign.digest import sha256_bytes, sha256_file
from nebsign.errors import VerdictError
from nebsign.keys import KeyKind, generate_key, key_id, public_key_pem, save_private_key
from nebsign.manifest import Manifest
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import verify_tree
from nebsign.verify import verify_artifact, verify_attestations

from . import DemoContext

TITLE = "Signing and verification: keys, Sigstore bundles, trust policy"


def run(ctx: DemoContext) -> Iterator[str]:
    keys = ctx.workdir / "keys"
    keys.mkdir(exist_ok=True)
    release_key = generate_key(KeyKind.ED25519)
    second_key = generate_key(KeyKind.ECDSA_P256)
    save_private_key(keys / "release.key", release_key, b"demo passphrase (never in argv)")
    atomic_write(keys / "release.pub", public_key_pem(release_key.public_key()))
    atomic_write(keys / "qa.pub", public_key_pem(second_key.public_key()))
    kid = key_id(release_key.public_key())
    ctx.values.update(signing_key=release_key, public_key_path=keys / "release.pub", key_id=kid)
    yield f"release key (Ed25519, encrypted PKCS#8, mode 0600): id {kid}"
    yield f"QA key (ECDSA P-256): id {key_id(second_key.public_key())}"

    manifest_path = ctx.values["manifest_path"]
    raw = manifest_path.read_bytes()
    bundle = sign_digest(sha256_bytes(raw), release_key)
    bundle_path = manifest_path.with_name(manifest_path.name + ".sigstore.json")
    atomic_write(bundle_path, bundle.to_json())
    ctx.values["manifest_bundle_path"] = bundle_path
    yield f"signed {manifest_path.name} -> {bundle_path.name} (Sigstore bundle v0.3)"

    pins = {name: sha256_file(keys / f"{name}.pub").sha256 for name in ("release", "qa")}
    policy_text = "version = 1\nthreshold = 2\n" + "".join(
        f'\n[[keys]]\npath = "keys/{name}.pub"\nsha256 = "{sha}"\n' for name, sha in pins.items()
    )
    policy_path = ctx.workdir / "trust.toml"
    atomic_write(policy_path, policy_text.encode())
    ctx.values["trust_policy_path"] = policy_path
    two_of_two = TrustPolicy.from_toml(policy_text.encode(), ctx.workdir)
    one_key = TrustPolicy.from_keys([release_key.public_key()])

    verified = verify_artifact(
        sha256_bytes(raw), [Bundle.from_json(bundle_path.read_bytes())], one_key
    )
    diff = verify_tree(Manifest.from_json(raw), ctx.values["release_dir"])
    yield f"verify manifest signature: OK (signer {verified.signers[0][:16]}…)"
    yield f"then the tree against the verified manifest: {diff.checked} entries match"

    try:
        verify_artifact(sha256_bytes(raw), [bundle], two_of_two)
    except VerdictError as exc:
        yield f"2-of-2 policy with one signature: refused — {exc.message}"
    qa_bundle = sign_digest(sha256_bytes(raw), second_key)
    both = verify_artifact(sha256_bytes(raw), [bundle, qa_bundle], two_of_two)
    yield f"2-of-2 policy with both signatures: OK ({len(both.signers)} distinct signers)"
    try:
        verify_artifact(sha256_bytes(raw), [bundle, bundle], two_of_two)
    except VerdictError:
        yield "the same key signing twice counts once: refused"

    tampered = raw.replace(b'"exchange-api"', b'"exchange-apl"')
    try:
        verify_artifact(sha256_bytes(tampered), [bundle], one_key)
    except VerdictError as exc:
        yield f"tampered manifest: refused — {exc.message}"
    try:
        verify_artifact(
            sha256_bytes(raw), [bundle], TrustPolicy.from_keys([second_key.public_key()])
        )
    except VerdictError as exc:
        yield f"wrong key: refused — {exc.message}"

    artifact = ctx.values["release_dir"] / "dist" / "exchange-api-1.4.2.tar.gz"
    digest = sha256_file(artifact).sha256
    statement = Statement(
        (Subject("dist/exchange-api-1.4.2.tar.gz", digest),),
        SAST_V1,
        {"verdict": "pass", "findings": [], "at": datetime(2026, 1, 1, tzinfo=UTC).isoformat()},
    )
    attestation = sign_statement(statement, release_key)
    require = TrustPolicy(one_key.rule, one_key.groups, required_predicates=(SAST_V1,))
    statements = verify_attestations(digest, [Bundle.from_json(attestation.to_json())], require)
    yield f"SAST attestation (in-toto v1, DSSE): verified, {statements[0].predicate_type}"
