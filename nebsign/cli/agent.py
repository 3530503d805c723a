"""``nebsign agent``: the on-host verify agent (install, run, rollback, status, log)."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from nebsign._internal.printable import safe_line
from nebsign.cli._output import emit_json, format_option, shown, warn

if TYPE_CHECKING:
    from nebsign.policy.host import HostPolicy

DEFAULT_POLICY = "/etc/nebsign/agent.toml"

_policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Host policy TOML (default {DEFAULT_POLICY}); must not be writable by group/others.",
)
_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False),
    default=None,
    help="Agent root, instead of the one the host policy names.",
)


def _say(text: str) -> None:
    """Print one result line; names and versions from releases are data, escaped."""
    click.echo(safe_line(text))


def _policy(path: str | None) -> HostPolicy:
    from nebsign.policy.host import load_host_policy

    return load_host_policy(Path(path or DEFAULT_POLICY))


def _root(policy_path: str | None, root: str | None) -> Path:
    if root is not None:
        return Path(root)
    return Path(_policy(policy_path).root)


@click.group("agent")
def agent() -> None:
    """Verify releases before they are installed on this host; roll back in one command.

    \b
    Examples:
      nebsign agent install /srv/inbox/exchange-api-1.4.2 --policy /etc/nebsign/agent.toml
      nebsign agent install https://releases.example.com/exchange-api/1.4.2
      nebsign agent run --inbox /srv/inbox          # daemon; SIGTERM stops it cleanly
      nebsign agent rollback                         # back to the previous verified release
      nebsign agent status --format json
      nebsign agent log verify                       # every segment, every line
      nebsign agent log rotate                       # seal the log; the chain continues
      nebsign agent repair --root /var/lib/nebsign-agent   # rebuild a lost state.json

    Only bytes named by a manifest that the host policy's signers signed, with
    the required attestations and an unexpired date, are installed. Every
    decision is appended to a hash-chained audit log.
    """


@agent.command("install")
@click.argument("release")
@_policy_option
@format_option
def install_cmd(release: str, policy_path: str | None, output_format: str) -> None:
    """Verify and install RELEASE (a directory or an http(s):// URL).

    \b
    Examples:
      nebsign agent install /srv/inbox/exchange-api-1.4.3
      nebsign agent install https://releases.example.com/exchange-api/1.4.3 --format json

    Exit 0 when installed (or already installed), 1 when refused (tampered,
    untrusted, downgrade, expired, missing attestation, unsafe archive), 2 on
    bad input (unsafe policy file, malformed release), 3 on environment faults.
    With --format json a refusal is printed as {"ok": false, "reason", "message",
    "exit_code"}; the reason code is the one in the audit log.
    """
    from nebsign.agent.install import install_release

    out = install_release(_policy(policy_path), release)
    if output_format == "json":
        emit_json(out.to_dict())
    else:
        for item in out.ignored:  # counted for nothing; the rest were judged
            warn(f"ignored {item.kind} bundle {shown(item.name)}: {shown(item.message)}")
        rec = out.record
        verb = "installed" if out.status.value == "installed" else "already installed"
        _say(
            f"{verb} {rec.name} {rec.version} (manifest sha256:{rec.manifest_sha256}, "
            f"signed by {', '.join(rec.signers)}; previous: {out.previous or 'none'})"
        )


def _interval(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise click.BadParameter(
            f"must be a number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL:.0f}, not {value}"
        )
    return value


MIN_INTERVAL, MAX_INTERVAL = 0.05, 86400.0


@agent.command("run")
@click.option(
    "--inbox", type=click.Path(file_okay=False, exists=True), help="Watch this directory."
)
@click.option("--url", help="Poll this release URL (http:// or https://).")
@click.option(
    "--interval",
    type=float,
    default=30.0,
    show_default=True,
    callback=_interval,
    help=f"Seconds between polls ({MIN_INTERVAL} to {MAX_INTERVAL:.0f}).",
)
@click.option("--once", is_flag=True, help="One pass, then exit.")
@_policy_option
def run_cmd(
    inbox: str | None, url: str | None, interval: float, once: bool, policy_path: str | None
) -> None:
    """Install new releases as they appear (daemon); stop with SIGTERM or Ctrl-C.

    \b
    Examples:
      nebsign agent run --inbox /srv/nebsign/inbox
      nebsign agent run --url https://releases.example.com/app/current --interval 60

    \b
    Inbox: a release directory is taken once <inbox>/<name>/.ready exists (write
    it last); afterwards it moves to <inbox>/.done/ or <inbox>/.rejected/.
    Links and special files in the inbox are never followed or opened.
    URL: <url>/release.json is polled; a changed digest triggers one install.
    A refused release is logged and the current release keeps serving.

    \b
    Examples:
      nebsign agent run --inbox /srv/nebsign/inbox
      nebsign agent run --url https://releases.example.com/exchange-api/current --interval 60

    SIGTERM abandons an install that is still staging and stops.
    """
    from nebsign._internal.fetch import check_url
    from nebsign.agent.daemon import Event, StopControl, run_daemon

    if (inbox is None) == (url is None):
        raise click.UsageError("give exactly one of --inbox and --url")
    if url is not None:
        check_url(url)
    policy = _policy(policy_path)
    control = StopControl()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        control.request()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def report(event: Event) -> None:
        # Names are data: escaped, so a newline in one cannot forge another line.
        line = safe_line(f"{event.kind.value}: {event.location}: {event.detail}")
        if event.kind.value in ("refused", "error"):
            warn(line)
        else:
            click.echo(line)

    stats = run_daemon(
        policy,
        inbox=Path(inbox) if inbox else None,
        url=url,
        interval=interval,
        stop=control,
        report=report,
        once=once,
    )
    abandoned = "; an install still staging was abandoned" if stats.abandoned else ""
    click.echo(
        f"stopped after {stats.polls} polls: {stats.installed} installed, "
        f"{stats.refused} refused, {stats.errors} errors{abandoned}",
        err=True,
    )


@agent.command("rollback")
@click.option("--to", "to", help="Version to go back to (default: the previous one).")
@_policy_option
@_root_option
@format_option
def rollback_cmd(
    to: str | None, policy_path: str | None, root: str | None, output_format: str
) -> None:
    """Switch back to the previous (or --to) installed release, after re-checking its files.

    Refuses (exit 1) when the target's files no longer match its stored,
    verified manifest.

    \b
    Examples:
      nebsign agent rollback
      nebsign agent rollback --to 1.4.2 --format json
    """
    from nebsign.agent.rollback import rollback

    hooks = None
    if root is None:
        policy = _policy(policy_path)
        target_root, hooks = Path(policy.root), policy.hooks
    else:
        target_root = Path(root)
    out = rollback(target_root, to, hooks=hooks)
    if output_format == "json":
        emit_json(out.to_dict())
    else:
        _say(
            f"rolled back from {out.previous} to {out.current.version} "
            f"(manifest sha256:{out.current.manifest_sha256}, re-checked)"
        )


@agent.command("status")
@_policy_option
@_root_option
@format_option
def status_cmd(policy_path: str | None, root: str | None, output_format: str) -> None:
    """Current and previous releases, their digests and signers, and the log's health.

    \b
    Examples:
      nebsign agent status
      nebsign agent status --root /var/lib/nebsign-agent --format json
    """
    from nebsign.agent.rollback import agent_status

    st = agent_status(_root(policy_path, root))
    if output_format == "json":
        emit_json(st.to_dict())
        return
    _say(f"root:    {st.root}")
    _say(f"current: {st.current or 'none'} (link: {st.linked or 'none'})")
    _say(f"highest: {st.highest or 'none'}")
    for rec in reversed(st.releases):
        mark = "*" if rec.version == st.current else " "
        _say(
            f" {mark} {rec.version:<12} sha256:{rec.manifest_sha256}  {rec.installed_at}  "
            f"signers: {', '.join(rec.signers)}"
        )
    log_state = "ok" if st.log_ok else f"NOT OK: {safe_line(st.log_problem or '')}"
    click.echo(f"audit log: {st.log_entries} entries, {log_state}")


@agent.group("log")
def log_group() -> None:
    """The tamper-evident audit log.

    \b
    Example:
      nebsign agent log verify --format json
    """


@log_group.command("verify")
@_policy_option
@_root_option
@format_option
def log_verify_cmd(policy_path: str | None, root: str | None, output_format: str) -> None:
    """Check every line of the log and its sealed segments, and the head in state.json.

    \b
    Examples:
      nebsign agent log verify
      nebsign agent log verify --root /var/lib/nebsign-agent --format json

    Exit 1 if any line was edited, deleted, reordered, the log was truncated,
    or a sealed segment changed; exit 2 if state.json is missing or older
    than the log (see `nebsign agent repair`).
    """
    from nebsign.agent.layout import AgentLayout
    from nebsign.agent.logrotate import verify_all
    from nebsign.agent.state import load_state

    layout = AgentLayout(_root(policy_path, root))
    layout.require_root()
    result = verify_all(layout, load_state(layout.state_file))
    if output_format == "json":
        emit_json(result.to_dict())
    else:
        head = result.head
        click.echo(
            f"OK: {result.entries} entries in {result.segments + 1} segment(s) chain correctly"
            + (f"; head seq {head.seq} sha256:{head.sha256}" if head else "")
        )


@log_group.command("rotate")
@_policy_option
@_root_option
@format_option
def log_rotate_cmd(policy_path: str | None, root: str | None, output_format: str) -> None:
    """Seal audit.log into audit.log.d/ and start a new segment that continues the chain.

    \b
    Examples:
      nebsign agent log rotate
      nebsign agent log rotate --root /var/lib/nebsign-agent

    Sealed segments can be shipped off-host; `agent log verify` checks them
    and their links. Commands read only the active segment.
    """
    from nebsign.agent.logrotate import rotate_log
    from nebsign.agent.session import open_session

    with open_session(_root(policy_path, root)) as session:
        sealed = rotate_log(session)
    if output_format == "json":
        emit_json({"sealed": sealed})
    else:
        click.echo(f"sealed {sealed}" if sealed else "the log is empty; nothing to rotate")


@agent.command("repair")
@_policy_option
@_root_option
@format_option
def repair_cmd(policy_path: str | None, root: str | None, output_format: str) -> None:
    """Rebuild state.json from the verified audit log and the installed releases.

    \b
    Examples:
      nebsign agent repair --root /var/lib/nebsign-agent

    For when the agent refuses to start because state.json is missing, older
    than the audit log, or disagrees with it. The downgrade floor is taken
    from the log, so it never goes down; releases that no longer re-check are
    left out; a `repaired` line records what was done. A tampered log is not
    repaired (exit 1).
    """
    from nebsign.agent.repair import repair

    out = repair(_root(policy_path, root))
    if output_format == "json":
        emit_json(out.to_dict())
        return
    st = out.state
    click.echo(
        f"repaired: current {st.current or 'none'}, highest ever installed {st.highest or 'none'}, "
        f"{len(st.releases)} release(s) kept"
    )
    for note in out.skipped:
        warn(f"left out releases/{safe_line(note)}")
