"""``nebsign demo``: run the whole pipeline on the bundled example release."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from nebsign._internal.resources import data_path
from nebsign.cli._extras import needs_extra
from nebsign.errors import InputError

#: written into a --workdir the demo made, so a re-run may clear it (and nothing else)
MARKER = ".nebsign-demo"


def _prepare(workdir: str) -> Path:
    """The absolute --workdir, emptied if an earlier demo made it; refuse anyone else's files."""
    root = Path(workdir).absolute()  # the agent step needs an absolute root
    if root.exists() and not root.is_dir():
        raise InputError(f"--workdir {workdir}: not a directory")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file() or root.is_symlink():
            raise InputError(
                f"--workdir {workdir} is not empty and was not made by `nebsign demo`",
                hint="give a new or empty directory",
            )
        for child in root.iterdir():  # the previous run's files
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `nebsign demo`; a re-run empties this directory\n")
    return root


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    help="Keep the demo's files here (default: a temporary directory, removed after). "
    "A directory an earlier demo made is emptied first; any other non-empty one is refused.",
)
@needs_extra("build")
def demo(workdir: str | None) -> None:
    """Show every capability on the bundled example release (offline).

    Hashes and writes a manifest for the example release, then runs every
    step that has landed: signing and verification, SAST, the host agent.

    \b
    Examples:
      nebsign demo                     # in a temporary directory, removed after
      nebsign demo --workdir demo/     # keep the files; run it again to start over
    """
    from nebsign._demo import DemoContext, load_steps

    examples = data_path("examples")
    with tempfile.TemporaryDirectory(prefix="nebsign-demo-") as tmp:
        root = _prepare(workdir) if workdir else Path(tmp)
        ctx = DemoContext(workdir=root, examples=examples)
        steps = load_steps()
        for number, (title, run) in enumerate(steps, start=1):
            click.secho(f"\n[{number}/{len(steps)}] {title}", bold=True)
            for line in run(ctx):
                click.echo(f"  {line}")
        click.secho(f"\ndemo complete: {len(steps)} steps passed", fg="green", bold=True)
        if "report_path" in ctx.values:
            click.echo(f"public audit report: {ctx.values['report_path']}")
