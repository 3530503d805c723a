"""``nebsign promote`` and ``nebsign rollback --channel``: move a channel, with evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nebsign.cli._clock import duration, now
from nebsign.cli._output import emit_json, format_option
from nebsign.errors import InputError

_store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="The static store's directory (what the web server or bucket serves).",
)
_key_option = click.option(
    "--key",
    "key_paths",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Private key that signs the channel statement (repeat for k-of-n).",
)
_passphrase_option = click.option(
    "--passphrase-fd",
    type=click.IntRange(min=0),
    metavar="N",
    help="Read key passphrases from file descriptor N (else NEBSIGN_PASSPHRASE or a prompt).",
)
_expires_option = click.option(
    "--expires-in",
    default="7d",
    show_default=True,
    help="How long hosts accept the statement (e.g. 7d, 12h); publish again before then.",
)


def _keys(paths: tuple[str, ...], fd: int | None) -> list[Any]:
    from nebsign.cli._keyopts import load_signing_key

    return [load_signing_key(p, fd) for p in paths]


def _show(out: Any, output_format: str, verb: str) -> None:
    from nebsign.gate.series import printable

    if output_format == "json":
        emit_json(out.to_dict())
        return
    st = out.statement
    prev = out.previous
    before = f" (was {printable(prev.version)} #{prev.sequence})" if prev else ""
    click.echo(
        f"{verb} channel {st.channel} -> {printable(st.release)} {printable(st.version)}{before}: "
        f"statement #{st.sequence}, manifest {st.manifest}, expires "
        f"{st.expires:%Y-%m-%dT%H:%M:%SZ}"
    )
    for ev in st.evidence:
        click.echo(f"  evidence: {ev.gate} gate sha256:{ev.sha256}")


@click.command("promote")
@click.argument("release", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--channel", required=True, help="Channel to move (e.g. canary, regional-eu, global)."
)
@_store_option
@_key_option
@_passphrase_option
@click.option(
    "--trust-policy",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="Trust policy TOML: who may sign gate attestations.",
)
@click.option(
    "--evidence",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A gate attestation bundle (repeat; default: RELEASE/attestations/*.sigstore.json).",
)
@click.option(
    "--phase",
    type=click.Choice(["staging", "canary", "regional", "global"]),
    help="The channel's phase (default: the name's first part, e.g. regional-eu -> regional).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Policy with [gates] windows and [gates.rollout] max_hours (default: bundled).",
)
@_expires_option
@format_option
def promote(
    release: Path,
    channel: str,
    store: Path,
    key_paths: tuple[str, ...],
    passphrase_fd: int | None,
    trust_policy: Path,
    evidence: tuple[Path, ...],
    phase: str | None,
    policy_path: Path | None,
    expires_in: str,
    output_format: str,
) -> None:
    """Point CHANNEL at RELEASE (a release directory in the store), if its gates allow it.

    \b
    Examples:
      nebsign promote releases/exchange-api/1.4.3 --store /srv/store \\
          --channel canary --key promote.key --trust-policy trust.toml
      nebsign promote releases/exchange-api/1.4.3 --store /srv/store --channel global \\
          --key promote.key --trust-policy trust.toml \\
          --evidence canary-gate.sigstore.json --evidence regional-gate.sigstore.json

    \b
    Rules (from signed gate attestations about this exact release.json):
      regional*: a canary gate PASS over >= 4 h
      global*:   and a regional gate PASS over >= 12 h after it, and
                 canary start to now <= 24 h (the gates' signed decided_at)
    Writes channels/<name>.json (sequence + 1) and its signatures, and copies
    the evidence to evidence/<sha256>.sigstore.json, where hosts check it again.
    Exit 0 promoted, 1 refused by the rules, 2 bad input, 3 environment.
    """
    from nebsign._internal.readlimit import read_bounded
    from nebsign.channels.model import Phase
    from nebsign.channels.publish import promote as do_promote
    from nebsign.channels.rules import PromotionRules
    from nebsign.gate.files import load_gates_policy
    from nebsign.policy import MAX_POLICY_BYTES
    from nebsign.policy.trust import TrustPolicy

    target = release if release.is_dir() else store / release
    if not target.is_dir():
        raise InputError(f"release {release}: no such directory (here or in the store)")
    trust = TrustPolicy.from_toml(
        read_bounded(trust_policy, MAX_POLICY_BYTES, "trust policy"), trust_policy.parent
    )
    gates = load_gates_policy(policy_path)
    rules = PromotionRules(
        gates.canary.window_hours, gates.regional.window_hours, gates.rollout_hours
    )
    out = do_promote(
        store,
        target,
        channel,
        _keys(key_paths, passphrase_fd),
        gate_trust=trust,
        now=now(),
        expires_in=duration(expires_in),
        evidence=evidence,
        phase=Phase(phase) if phase else None,
        rules=rules,
    )
    _show(out, output_format, "promoted")


@click.command("rollback")
@click.option("--channel", required=True, help="Channel to roll back (e.g. global).")
@click.option("--to", "to", required=True, help="The older version the channel ran before.")
@_store_option
@_key_option
@_passphrase_option
@_expires_option
@format_option
def rollback(
    channel: str,
    to: str,
    store: Path,
    key_paths: tuple[str, ...],
    passphrase_fd: int | None,
    expires_in: str,
    output_format: str,
) -> None:
    """Roll a whole channel back: every host following it switches to version --to.

    \b
    Example:
      nebsign rollback --channel global --to 1.4.2 --store /srv/store --key rollback.key

    Publishes a channel statement with a higher sequence that names the older
    release and is marked rollback. Hosts accept it only when it is signed by
    keys their policy allows to authorize rollbacks (channel.rollback_trust_policy);
    a host that still has the release switches locally, others fetch and verify it.
    Each host converges within its poll interval + jitter + install time.
    Exit 0 published, 2 bad input (no such channel, not an older version it ran).
    """
    from nebsign.channels.publish import rollback as do_rollback

    out = do_rollback(
        store,
        channel,
        to,
        _keys(key_paths, passphrase_fd),
        now=now(),
        expires_in=duration(expires_in),
    )
    _show(out, output_format, "rolled back")
