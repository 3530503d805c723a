"""The trust policy TOML reader: tables -> the parts of a trust policy.

Reads the files a policy pins (keys, trusted root) relative to the policy's
directory and checks their SHA-256; :mod:`nebsign.verify` then does no I/O.
It returns the parts (signer rule, groups, required predicates, trusted root)
and :meth:`nebsign.policy.trust.TrustPolicy.from_toml` builds the policy from
them, so the reader sits below the policy and never imports it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal import fields
from nebsign.keys import MAX_KEY_BYTES, key_id, load_public_key
from nebsign.policy.signers import (
    ANY_PURPOSE,
    HEX_RE,
    MAX_TRUSTED_ROOT_BYTES,
    Evidence,
    InvalidPolicy,
    Purposes,
    SignerGroup,
    TrustedIdentity,
    TrustedKey,
    TrustedRoot,
    bundled_trusted_root,
    read_pinned,
)

if TYPE_CHECKING:
    from nebsign.policy import Policy

__all__ = ["PolicyParts", "load_key_entry", "parse_policy", "parse_time"]

#: what :func:`parse_policy` reads: (signer rule, groups, required predicates, trusted root)
PolicyParts = tuple[
    "Policy[Evidence]", tuple[SignerGroup, ...], tuple[str, ...], TrustedRoot | None
]


_KEY_FIELDS = frozenset({"id", "pem", "path", "sha256", "not_after", "purposes"})
_IDENTITY_FIELDS = frozenset({"identity", "identity_regex", "issuer", "purposes"})


def parse_time(value: Any, where: str) -> datetime:
    """An RFC 3339 UTC instant (TOML datetime or ``...Z`` string)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise InvalidPolicy(f"policy: {where} must be a UTC time like 2027-01-01T00:00:00Z")


def load_key_entry(entry: dict[str, Any], base_dir: Path, where: str) -> TrustedKey:
    """One ``[[keys]]`` table: inline PEM with its id, or a file pinned by SHA-256."""
    fields.unknown_keys(entry, _KEY_FIELDS, f"policy: {where}", error=InvalidPolicy, noun="field")
    if ("pem" in entry) == ("path" in entry):
        raise InvalidPolicy(f"policy: {where} needs exactly one of pem and path")
    if "pem" in entry:
        if not isinstance(entry["pem"], str) or not isinstance(entry.get("id"), str):
            raise InvalidPolicy(f"policy: {where}: an inline pem needs its id (hex SHA-256)")
        pem = entry["pem"].encode("utf-8")
    else:
        sha, path = entry.get("sha256"), entry["path"]
        if not isinstance(path, str) or not isinstance(sha, str) or not HEX_RE.fullmatch(sha):
            raise InvalidPolicy(f"policy: {where}: path needs a sha256 pin (64 lowercase hex)")
        pem = read_pinned(base_dir / path, sha, MAX_KEY_BYTES, "public key")
    public = load_public_key(pem, f"policy {where}")
    kid = key_id(public)
    if "id" in entry and entry["id"] != kid:
        raise InvalidPolicy(
            f"policy: {where}: id {str(entry['id'])[:80]} does not match the key ({kid})"
        )
    not_after = (
        parse_time(entry["not_after"], f"{where}.not_after") if "not_after" in entry else None
    )
    purposes = Purposes.parse(entry["purposes"], where) if "purposes" in entry else ANY_PURPOSE
    return TrustedKey(kid, public, not_after, purposes)


def _identity_entry(entry: dict[str, Any], where: str) -> TrustedIdentity:
    fields.unknown_keys(
        entry, _IDENTITY_FIELDS, f"policy: {where}", error=InvalidPolicy, noun="field"
    )
    values = [entry.get(k) for k in ("issuer", "identity", "identity_regex")]
    if not isinstance(values[0], str) or not all(v is None or isinstance(v, str) for v in values):
        raise InvalidPolicy(f"policy: {where} needs an issuer and identity strings")
    purposes = Purposes.parse(entry["purposes"], where) if "purposes" in entry else ANY_PURPOSE
    return TrustedIdentity(values[0], values[1], values[2], purposes)


def _table_list(value: Any, where: str) -> list[dict[str, Any]]:
    return fields.tables(
        [] if value is None else value,
        f"policy: {where}",
        error=InvalidPolicy,
        expected=f"must be a list of tables ([[{where}]])",
    )


def _group(table: dict[str, Any], name: str, base_dir: Path, require_tlog: bool) -> SignerGroup:
    keys = tuple(
        load_key_entry(e, base_dir, f"{name}.keys[{i}]")
        for i, e in enumerate(_table_list(table.get("keys"), f"{name}.keys"))
    )
    identities = tuple(
        _identity_entry(e, f"{name}.identities[{i}]")
        for i, e in enumerate(_table_list(table.get("identities"), f"{name}.identities"))
    )
    threshold = fields.integer(
        table.get("threshold", 1), f"policy: {name}.threshold", error=InvalidPolicy
    )
    return SignerGroup(name, keys, identities, threshold, require_tlog)


def _trusted_root(table: Any, base_dir: Path) -> TrustedRoot | None:
    if table is None:
        return None
    table = fields.table(
        table,
        "policy: [sigstore]",
        allowed={"trusted_root", "sha256", "instance"},
        error=InvalidPolicy,
        expected="takes trusted_root + sha256, or instance",
    )
    if "instance" in table:
        if "trusted_root" in table or not isinstance(table["instance"], str):
            raise InvalidPolicy("policy: [sigstore] takes either instance or trusted_root")
        return bundled_trusted_root(table["instance"])
    path, sha = table.get("trusted_root"), table.get("sha256")
    if not isinstance(path, str) or not isinstance(sha, str) or not HEX_RE.fullmatch(sha):
        raise InvalidPolicy("policy: [sigstore] trusted_root needs a sha256 pin (64 lowercase hex)")
    data = read_pinned(base_dir / path, sha, MAX_TRUSTED_ROOT_BYTES, "trusted root")
    return TrustedRoot(path, sha, data)


_TOP = {
    "version",
    "threshold",
    "require_tlog",
    "required_predicates",
    "keys",
    "identities",
    "all_of",
    "any_of",
    "sigstore",
    "name",
    "description",
}


def parse_policy(doc: dict[str, Any], base_dir: Path, what: str) -> PolicyParts:
    """The parts of the trust policy *doc* (parsed TOML); pinned files read below *base_dir*."""
    from nebsign.policy import AllOf, AnyOf

    if doc.get("version") != 1:
        raise InvalidPolicy(f"{what}: version = 1 is required")
    fields.unknown_keys(doc, _TOP, what, error=InvalidPolicy, noun="field")
    require_tlog = fields.boolean(
        doc.get("require_tlog", False), f"{what}: require_tlog", error=InvalidPolicy
    )
    predicates = fields.strings(
        doc.get("required_predicates", []),
        f"{what}: required_predicates",
        error=InvalidPolicy,
        expected="must be a list of URIs",
    )
    flat = any(k in doc for k in ("keys", "identities", "threshold"))
    composed = [k for k in ("all_of", "any_of") if k in doc]
    if flat + len(composed) != 1:
        raise InvalidPolicy(
            f"{what}: give signers either at top level (keys/identities/threshold) "
            "or as [[all_of]] / [[any_of]] groups, exactly one of these",
            hint="a policy that trusts nobody would pass nothing",
        )
    rule: Policy[Evidence]
    if flat:
        group = _group(doc, "policy", base_dir, require_tlog)
        groups: tuple[SignerGroup, ...] = (group,)
        rule = group
    else:
        kind = composed[0]
        tables = _table_list(doc[kind], kind)
        groups = tuple(
            _group(t, str(t.get("name", f"{kind}[{i}]")), base_dir, require_tlog)
            for i, t in enumerate(tables)
        )
        rule = AllOf(groups) if kind == "all_of" else AnyOf(groups)
    root = _trusted_root(doc.get("sigstore"), base_dir)
    if root is None and any(g.identities for g in groups):
        root = bundled_trusted_root("production")
    return rule, groups, predicates, root
