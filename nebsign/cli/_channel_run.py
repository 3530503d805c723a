"""``agent run --url STORE`` for a host whose policy names a channel (printing side)."""

from __future__ import annotations

import threading
from typing import Any

import click

from nebsign.cli._output import warn
from nebsign.errors import EnvironmentFault, InputError, VerdictError

__all__ = ["run_channel_cli"]


def run_channel_cli(
    policy: Any, store: str, *, interval: float, jitter: float, once: bool, stop: threading.Event
) -> None:
    """Follow the policy's channel; with --once exit 1 on a refusal, 3 on an outage."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(store)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise InputError(f"--url: not a usable URL ({exc})") from exc
    if not parts.hostname:
        raise InputError("--url: not a usable URL (no host name)")
    from nebsign.agent.channel import Action, ChannelOutcome, run_channel
    from nebsign.gate.series import printable

    last: list[ChannelOutcome] = []

    def report(out: ChannelOutcome) -> None:
        last[:] = [out]
        line = f"{out.action.value}: {printable(out.detail)}"
        if out.action in (Action.REFUSED, Action.ERROR):
            warn(line)
        elif out.action is not Action.UNCHANGED or once:
            click.echo(line)

    follower = run_channel(
        policy, store, interval=interval, jitter=jitter, stop=stop, report=report, once=once
    )
    counts = follower.counts
    click.echo(
        f"stopped after {counts.get('polls', 0)} polls: {counts.get('not_modified', 0)} "
        f"unchanged (304), {counts.get('refused', 0)} refused, {counts.get('errors', 0)} errors",
        err=True,
    )
    if once and last:
        out = last[0]
        if out.action is Action.REFUSED:
            raise VerdictError(out.detail)
        if out.action is Action.ERROR:
            raise EnvironmentFault(out.detail)
