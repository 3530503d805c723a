"""``pip install nebsign`` alone, for real: a wheel built from this repository goes into
a fresh venv with only the core's dependencies (from the package registry). There a
signed release installs through ``nebsign agent install``, key-based and keyless
verification work, and every build-server command says which extra to install (exit 3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from extrakit import COMMAND_IDS, COMMANDS, argv_in, command_name
from helpers import REPO, SHARED, Result, assert_one_line_error

pytestmark = pytest.mark.slow

#: the environment before the hermetic-HOME fixture: pip's own (warm) cache lives there
_PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
)
#: modules that come only with an extra (or with nothing nebsign installs)
BUILD_SERVER_ONLY = (
    "bandit", "semgrep", "yaml", "jinja2", "scipy", "prometheus_client", "slither",
    "httpx", "playwright", "pytest", "hypothesis",
)  # fmt: skip


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PIP_CACHE_DIR=_PIP_CACHE, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _check(argv: list[str], timeout: float = 300) -> None:
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=_pip_env(), timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{argv[:6]}: {proc.stdout[-2000:]}{proc.stderr[-4000:]}"


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel of this checkout and the core's dependencies only."""
    tmp = tmp_path_factory.mktemp("core-install")
    pip = [sys.executable, "-m", "pip"]
    _check([*pip, "wheel", "--no-deps", "-q", "-w", str(tmp / "wheel"), str(REPO)])
    (wheel,) = (tmp / "wheel").glob("nebsign-*.whl")
    # no pip inside the venv (ensurepip is slow): this interpreter's pip installs into it
    _check([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")])
    _check([*pip, "--python", str(tmp / "venv" / "bin" / "python"), "install", "-q", str(wheel)])
    return tmp / "venv"


def nebsign(venv: Path, *args: str, cwd: Path | None = None) -> Result:
    """The core venv's own ``nebsign`` console script; PATH has only that venv and /bin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    proc = subprocess.run(
        [str(venv / "bin" / "nebsign"), *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )
    return Result(
        proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(), proc.stdout
    )


def test_the_core_venv_holds_no_build_server_package(core: Path) -> None:
    probe = (
        "import importlib.util, sys, nebsign; "
        f"print(nebsign.__file__); print([m for m in {BUILD_SERVER_ONLY!r} "
        "if importlib.util.find_spec(m)])"
    )
    proc = subprocess.run(
        [str(core / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=core,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    where, present = proc.stdout.splitlines()
    assert where.startswith(str(core)), where  # the installed wheel, not this checkout
    assert present == "[]", present
    _check([sys.executable, "-m", "pip", "--python", str(core / "bin" / "python"), "check"])
    version = nebsign(core, "--version")
    assert version.exit_code == 0 and "nebsign" in version.stdout, version.stderr


def test_agent_install_of_a_signed_release_in_the_core(core: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agent"))
    from agentkit import ReleaseKit

    kit = ReleaseKit(tmp_path / "kit")
    release = kit.build("1.0.0")
    done = nebsign(core, "agent", "install", str(release), "--policy", str(kit.policy_path),
                   "--format", "json")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "installed"
    assert kit.current_payload() == b"app 1.0.0\n"
    status = nebsign(core, "agent", "status", "--policy", str(kit.policy_path), "--format", "json")
    assert json.loads(status.stdout)["current"] == "1.0.0" and status.exit_code == 0
    # a release signed by someone else is refused there too (exit 1, one line)
    from nebsign.keys import generate_key

    other = kit.build("1.1.0", key=generate_key())
    refused = nebsign(core, "agent", "install", str(other), "--policy", str(kit.policy_path))
    assert_one_line_error(refused, 1)
    assert kit.current_payload() == b"app 1.0.0\n"
    # the build side of the core: key, sign, key-based verify
    made = nebsign(core, "key", "generate", "-o", "k", "--no-passphrase", cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    (tmp_path / "app.tar.gz").write_bytes(b"pretend this is a tarball\n")
    assert nebsign(core, "sign", "app.tar.gz", "--key", "k.key", cwd=tmp_path).exit_code == 0
    checked = nebsign(core, "verify", "app.tar.gz", "--key", "k.pub", cwd=tmp_path)
    assert checked.exit_code == 0, checked.stderr


def test_a_transparency_log_entry_verifies_in_the_core(core: Path) -> None:
    """The sigstore library (the core's) checks a bundle's Rekor entry: in-repo assets."""
    golden = REPO / "tests" / "assets" / "golden"
    args = ["verify", str(golden / "artifact.bin"), "--bundle",
            str(golden / "artifact.bin.tlog.sigstore.json")]  # fmt: skip
    ok = nebsign(core, *args, "--policy", str(golden / "policy-tlog.toml"))
    assert ok.exit_code == 0, ok.stderr


def test_keyless_verification_in_the_core(core: Path) -> None:
    """sigstore is part of the core: a Sigstore staging bundle verifies offline."""
    data = SHARED / "testdata" / "sigstore"
    if not (data / "bundle.txt.sigstore").is_file():
        pytest.skip(f"the Sigstore test data is not beside the repository ({data})")
    args = ["verify", str(data / "bundle.txt"), "--bundle", str(data / "bundle.txt.sigstore"),
            "--cert-oidc-issuer", "https://github.com/login/oauth", "--staging"]  # fmt: skip
    ok = nebsign(core, *args, "--cert-identity", "a@tny.town")
    assert ok.exit_code == 0, ok.stderr
    assert_one_line_error(nebsign(core, *args, "--cert-identity", "x@example.com"), 1)


@pytest.mark.parametrize(("template", "extra"), COMMANDS, ids=COMMAND_IDS)
def test_build_server_commands_name_their_extra(
    core: Path, template: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    result = nebsign(core, *argv_in(template, tmp_path), cwd=tmp_path)
    assert_one_line_error(result, 3)
    line = result.stderr.strip()
    assert line.startswith(f"nebsign: error: {command_name(template)} needs nebsign's '{extra}'")
    assert line.endswith(f"(pip install 'nebsign[{extra}]')"), line
    if template == ("scan", "sast"):
        as_json = nebsign(core, "scan", "sast", "--format", "json", cwd=tmp_path)
        assert as_json.exit_code == 3
        assert json.loads(as_json.stdout)["reason"] == "missing-extra"
