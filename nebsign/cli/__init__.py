"""The nebsign command line: the only package that prints or exits.

Command groups are loaded lazily from :data:`COMMANDS` so that ``nebsign hash``
and key-based ``nebsign verify`` never import sigstore, semgrep or jinja2.
To add a command group, add one line to :data:`COMMANDS` and one module here.

Not public API: the commands are the interface; the modules here change freely
(docs/architecture.md, Public API).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

import click

from nebsign import __version__
from nebsign.cli._output import emit_refusal, json_pending, note_argv, reset_state, shown
from nebsign.errors import InputError, NebsignError

__all__ = ["COMMANDS", "cli", "main"]

#: command name -> "module:attribute" of a click command, imported on use.
COMMANDS: dict[str, str] = {
    "hash": "nebsign.cli.hash:hash_cmd",
    "manifest": "nebsign.cli.manifest:manifest",
    "demo": "nebsign.cli.demo:demo",
    "key": "nebsign.cli.key:key",
    "sign": "nebsign.cli.sign:sign",
    "verify": "nebsign.cli.verify:verify",
    "attest": "nebsign.cli.attest:attest",
    "audit": "nebsign.cli.audit:audit",
    "agent": "nebsign.cli.agent:agent",
    "scan": "nebsign.cli.scan:scan",
    "gate": "nebsign.cli.gate:gate",
    "release": "nebsign.cli.release:release",
    "report": "nebsign.cli.report:report",
    "promote": "nebsign.cli.promote:promote",
    "rollback": "nebsign.cli.promote:rollback",
}

_state = {"verbose": False}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        _accept_verbose(command)
        return command


def _set_verbose(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state["verbose"] = True


def _accept_verbose(command: click.Command) -> None:
    """Let ``-v`` follow the subcommand too (``nebsign verify … -v``), at every level."""
    if not any(p.name == "verbose_anywhere" for p in command.params):
        command.params.append(
            click.Option(
                ["-v", "--verbose", "verbose_anywhere"],
                is_flag=True,
                expose_value=False,
                callback=_set_verbose,
                help="Show tracebacks and debug detail on errors.",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_verbose(sub)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="nebsign")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug detail on errors.")
def cli(verbose: bool) -> None:
    """nebsign: hash, scan, sign and verify releases; install only verified bytes.

    \b
    Exit codes, for every command:
      0  success
      1  a verdict said no (verification failed, a policy gate failed)
      2  bad input or usage (unreadable file, malformed bundle, unknown option)
      3  environment fault (scanner missing, disk full)
      130  interrupted (Ctrl-C): prints `nebsign: interrupted`

    With --format json, every outcome is JSON on stdout, a refusal included:
    {"ok": false, "reason": CODE, "message": TEXT, "exit_code": N}.

    \b
    Examples:
      nebsign hash dist/app.tar.gz
      nebsign verify release.json --manifest --root dist/ --key release.pub -v
      eval "$(_NEBSIGN_COMPLETE=bash_source nebsign)"   # shell completion (bash)

    Run `nebsign COMMAND --help` for each command, or `nebsign demo` to see the
    whole pipeline on the bundled example release.
    """
    _state["verbose"] = verbose


def _traceback() -> None:
    import traceback  # only with -v: keeps every command's start-up light

    traceback.print_exc()


def _fail(message: str, code: int, reason: str) -> int:
    """One escaped line on stderr; with --format json, the refusal on stdout too."""
    if json_pending():
        with contextlib.suppress(OSError):  # stdout may be what failed (disk full)
            emit_refusal(reason, message, code)
    click.echo(f"nebsign: error: {shown(message)}", err=True)
    return code


def _interrupted() -> int:
    if json_pending():
        emit_refusal("interrupted", "interrupted", 130)
    click.echo("nebsign: interrupted", err=True)
    return 130


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the one error boundary)."""
    _state["verbose"] = False
    reset_state()
    try:
        return _run(argv)
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being reported
        return 130


def _run(argv: list[str] | None) -> int:
    try:
        result: Any = cli.main(args=argv, prog_name="nebsign", standalone_mode=False)
    except NebsignError as exc:
        if _state["verbose"]:
            _traceback()
        return _fail(exc.diagnostics(), exc.exit_code, exc.reason)
    except click.FileError as exc:
        # click exits 1 for these; an unreadable file is bad input (2).
        return _fail(
            f"cannot open {exc.ui_filename}: {exc.message}", InputError.exit_code, "input-error"
        )
    except click.UsageError as exc:
        note_argv(sys.argv[1:] if argv is None else argv)
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        return _fail(f"{exc.format_message()}{hint}", 2, "usage")
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        return _interrupted()
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # Output that cannot be written (disk full, I/O error) is the environment.
        if _state["verbose"]:
            _traceback()
        return _fail(f"cannot write output: {exc.strerror or exc}", 3, "environment-fault")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if _state["verbose"]:
            _traceback()
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (a bug; rerun with -v and report it)",
            3,
            "internal-error",
        )
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    code = run(sys.argv[1:])
    try:
        sys.stdout.flush()
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError):
            code = _fail(f"cannot write output: {exc.strerror or exc}", 3, "environment-fault")
        # Python flushes stdout again at exit; point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
