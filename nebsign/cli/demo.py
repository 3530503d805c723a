"""``nebsign demo``: run the whole pipeline on the bundled example release."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from nebsign._internal.resources import data_path


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    help="Keep the demo's files here (default: a temporary directory, removed after).",
)
def demo(workdir: str | None) -> None:
    """Show every capability on the bundled example release (offline).

    Hashes and writes a manifest for the example release, then runs every
    step that has landed: signing and verification, SAST, the host agent.
    """
    from nebsign._demo import DemoContext, load_steps

    examples = data_path("examples")
    with tempfile.TemporaryDirectory(prefix="nebsign-demo-") as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        ctx = DemoContext(workdir=root, examples=examples)
        steps = load_steps()
        for number, (title, run) in enumerate(steps, start=1):
            click.secho(f"\n[{number}/{len(steps)}] {title}", bold=True)
            for line in run(ctx):
                click.echo(f"  {line}")
        click.secho(f"\ndemo complete: {len(steps)} steps passed", fg="green", bold=True)
        if "report_path" in ctx.values:
            click.echo(f"public audit report: {ctx.values['report_path']}")
