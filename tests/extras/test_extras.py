"""Optional extras: each build-server command names the extra it needs (exit 3), the core
commands need none, and the table in ``nebsign._internal.extras`` matches pyproject.

A missing extra is made here by hiding its modules from one real ``nebsign`` process
(``sys.modules[name] = None``: the import system then finds nothing, as in a venv
without them). tests/extras/test_core_venv.py installs the core alone for real.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
from extrakit import ALL_EXTRA_MODULES, COMMAND_IDS, COMMANDS, argv_in, command_name, run_without
from helpers import REPO, assert_one_line_error

from nebsign._internal.extras import (
    COMPOSITE,
    EXTRAS,
    ExtraMissing,
    import_from_extra,
    install_line,
    missing_from_extra,
    require_extra,
)

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _extras_of(requirement: str) -> set[str]:
    match = re.search(r"\[([^\]]*)\]", requirement)
    return {e.strip() for e in match.group(1).split(",")} if match else set()


def _expanded(extra: str) -> set[str]:
    """Distributions *extra* brings, following ``nebsign[...]`` self-references."""
    out: set[str] = set()
    for req in PYPROJECT["project"]["optional-dependencies"][extra]:
        if _name(req) == "nebsign":
            for sub in _extras_of(req):
                out |= _expanded(sub)
        else:
            out.add(_name(req))
    return out


# --- the table and pyproject agree ------------------------------------------------------


@pytest.mark.parametrize("extra", sorted(EXTRAS) + sorted(COMPOSITE))
def test_every_extra_in_the_table_brings_what_it_names(extra: str) -> None:
    parts = COMPOSITE.get(extra, (extra,))
    named = {_name(d) for part in parts for d in EXTRAS[part].values()}
    assert named <= _expanded(extra), f"[{extra}] in pyproject lacks {named - _expanded(extra)}"


def test_the_core_brings_no_build_server_package() -> None:
    core = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    build_only = {_name(d) for mods in EXTRAS.values() for d in mods.values()}
    build_only -= {"markdown-it-py"}  # rich (the core's progress bar) depends on it anyway
    assert not core & build_only, core & build_only
    for heavy in ("semgrep", "bandit", "pyyaml", "jinja2", "scipy", "slither-analyzer"):
        assert heavy not in core


def test_build_is_every_build_server_extra_and_test_installs_build() -> None:
    optional = PYPROJECT["project"]["optional-dependencies"]
    build_server = set(optional) - {"build", "test"}
    assert _expanded("build") == set().union(*(_expanded(e) for e in build_server))
    assert set(COMPOSITE["build"]) == set(EXTRAS) == build_server
    assert any(_name(r) == "nebsign" and "build" in _extras_of(r) for r in optional["test"])


# --- the helper -------------------------------------------------------------------------


def test_install_line_is_the_exact_pip_command() -> None:
    assert install_line("scan") == "pip install 'nebsign[scan]'"
    assert install_line("build") == "pip install 'nebsign[build]'"
    with pytest.raises(KeyError):
        install_line("scna")


def test_require_extra_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing_from_extra("scan") == []
    require_extra("build", "x")  # the test environment has everything
    monkeypatch.setitem(sys.modules, "semgrep", None)
    monkeypatch.setitem(sys.modules, "yaml", None)
    assert missing_from_extra("scan") == ["semgrep", "PyYAML"]
    with pytest.raises(ExtraMissing) as err:
        require_extra("build", "nebsign demo")
    assert err.value.exit_code == 3 and err.value.reason == "missing-extra"
    assert err.value.diagnostics() == (
        "nebsign demo needs nebsign's 'build' extra; not installed: semgrep, PyYAML "
        "(pip install 'nebsign[build]')"
    )


def test_import_from_extra_turns_a_broken_install_into_exit_3(tmp_path: Path) -> None:
    (tmp_path / "scipy").mkdir()
    (tmp_path / "scipy" / "__init__.py").write_text("raise ImportError('half installed')\n")
    sys.path.insert(0, str(tmp_path))
    saved = {k: v for k, v in sys.modules.items() if k == "scipy" or k.startswith("scipy.")}
    for k in saved:
        del sys.modules[k]
    try:
        with pytest.raises(ExtraMissing) as err:
            import_from_extra("scipy.stats", "gates", "the rollout gates")
    finally:
        sys.path.remove(str(tmp_path))
        for k in [k for k in sys.modules if k == "scipy" or k.startswith("scipy.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert err.value.diagnostics() == (
        "the rollout gates needs nebsign's 'gates' extra; not installed: scipy "
        "(ImportError: half installed) (pip install 'nebsign[gates]')"
    )


# --- every command that needs an extra says which ---------------------------------------


@pytest.mark.parametrize(("template", "extra"), COMMANDS, ids=COMMAND_IDS)
def test_a_command_without_its_extra_exits_3_with_the_pip_line(
    template: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    argv, command = argv_in(template, tmp_path), command_name(template)
    hidden = list(EXTRAS.get(extra, ALL_EXTRA_MODULES))
    result = run_without(hidden, *argv, cwd=tmp_path)
    assert_one_line_error(result, 3)
    line = result.stderr.strip()
    assert line.startswith(f"nebsign: error: {command} needs nebsign's '{extra}' extra"), line
    assert line.endswith(f"(pip install 'nebsign[{extra}]')"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contracts"]  # nothing written
    if argv[0] != "demo":
        as_json = run_without(hidden, *argv, "--format", "json", cwd=tmp_path)
        assert as_json.exit_code == 3, as_json.stderr
        out = json.loads(as_json.stdout)
        assert out["ok"] is False and out["reason"] == "missing-extra" and out["exit_code"] == 3
        assert out["message"].endswith(f"(pip install 'nebsign[{extra}]')")
    helped = run_without(hidden, *argv[:2], "--help", cwd=tmp_path)
    assert helped.exit_code == 0 and "Example" in helped.stdout, helped.stderr


def test_a_missing_scanner_executable_names_the_scan_extra(tmp_path: Path) -> None:
    """The module is importable but no ``bandit`` executable is beside Python or on PATH
    (tests/sast/test_cli.py runs that case): the hint is the same install line."""
    from nebsign.sast.bandit import BanditScanner
    from nebsign.sast.semgrep import SemgrepScanner

    assert (
        BanditScanner.install_hint == SemgrepScanner.install_hint == "pip install 'nebsign[scan]'"
    )


def test_the_core_commands_run_with_every_extra_hidden(tmp_path: Path) -> None:
    """hash, key, sign, verify, an agent install and an audit import need no extra."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agent"))
    from agentkit import ReleaseKit

    kit = ReleaseKit(tmp_path / "kit")
    release = kit.build("1.0.0")
    hidden = [*ALL_EXTRA_MODULES, "platformdirs"]
    assert run_without(hidden, "hash", str(release / "release.json")).exit_code == 0
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"pretend this is a tarball\n")
    made = run_without(hidden, "key", "generate", "-o", str(tmp_path / "k"), "--no-passphrase")
    assert made.exit_code == 0, made.stderr
    signed = run_without(hidden, "sign", str(artifact), "--key", str(tmp_path / "k.key"))
    assert signed.exit_code == 0, signed.stderr
    checked = run_without(hidden, "verify", str(artifact), "--key", str(tmp_path / "k.pub"))
    assert checked.exit_code == 0, checked.stderr
    installed = run_without(
        hidden, "agent", "install", str(release), "--policy", str(kit.policy_path)
    )
    assert installed.exit_code == 0, installed.stderr
    assert kit.current_payload() == b"app 1.0.0\n"
    audit = REPO / "examples" / "audits" / "vault-audit.toml"
    imported = run_without(hidden, "audit", "import", str(audit), "--format", "json")
    assert imported.exit_code == 0 and json.loads(imported.stdout)["auditor"], imported.stderr


def test_the_isolated_pre_commit_hook_installs_the_scan_extra() -> None:
    """pre-commit installs a python hook with ``pip install . *additional_dependencies``."""
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    assert hooks["nebsign-sast-isolated"]["additional_dependencies"] == [".[scan]"]
    assert hooks["nebsign-sast"]["additional_dependencies"] == []  # language: system
