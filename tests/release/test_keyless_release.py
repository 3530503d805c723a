"""``nebsign release --sigstore``: every refusal happens before the network and writes nothing.

Offline, Fulcio and Rekor are out of reach, so these tests stop where the network would
start: usage errors (2), no OIDC token (3, naming SIGSTORE_IDENTITY_TOKEN), an unusable
token (2) from the environment, from GitLab's ``SIGSTORE_ID_TOKEN`` and from GitHub
Actions' token endpoint (a real HTTP server on 127.0.0.1). The signing itself runs in
``test_keyless_release_network.py`` (``@pytest.mark.network``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from helpers import assert_one_line_error
from releasekit import EPOCH, EXAMPLE, Result, run_cli

#: every variable through which sigstore-python's ambient detection (the `id` package)
#: finds a CI credential, plus nebsign's own
AMBIENT = (
    "SIGSTORE_IDENTITY_TOKEN",
    "SIGSTORE_ID_TOKEN",
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
)
GCP_PRODUCT = Path("/sys/class/dmi/id/product_name")


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    try:
        on_gcp = GCP_PRODUCT.read_text().strip() in {"Google", "Google Compute Engine"}
    except OSError:
        on_gcp = False
    if on_gcp:  # the id package would ask the metadata server: not loopback
        pytest.skip("on a GCP VM, ambient OIDC detection reaches the metadata server")


def _token(**claims: object) -> str:
    """An OIDC-shaped JWT (unsigned claims are all sigstore checks before Fulcio)."""
    now = int(time.time())
    body: dict[str, object] = {"iss": "https://issuer.example", "sub": "ci", "aud": "sigstore"}
    body.update({"iat": now - 60, "exp": now + 600})
    body.update(claims)
    return jwt.encode(body, "k" * 32, algorithm="HS256")


EXPIRED = _token(iat=1_600_000_000, exp=1_600_000_600)
WRONG_AUDIENCE = _token(aud="someone-else")


def keyless(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    out = tmp_path / "out"
    return run_cli(
        "release", str(EXAMPLE), str(EXAMPLE), "-o", str(out), "--name", "exchange-api",
        "--version", "1.4.3", "--no-report", *extra,
        env={"SOURCE_DATE_EPOCH": EPOCH, **(env or {})},
    )  # fmt: skip


def _nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*")), "a stage was left behind"


def test_no_token_is_exit_3_naming_the_variable(tmp_path: Path) -> None:
    result = keyless(tmp_path, "--sigstore")
    assert_one_line_error(result, 3)
    assert "SIGSTORE_IDENTITY_TOKEN" in result.stderr
    assert "id-token: write" in result.stderr and "SIGSTORE_ID_TOKEN" in result.stderr
    _nothing_written(tmp_path)


def test_no_token_under_format_json_is_a_json_refusal(tmp_path: Path) -> None:
    result = keyless(tmp_path, "--sigstore", "--format", "json")
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 3 and doc["reason"] == "no-identity-token"
    assert "SIGSTORE_IDENTITY_TOKEN" in doc["message"]
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sigstore", "--key", "k.key"], "exactly one of --key KEY and --sigstore"),
        ([], "exactly one of --key KEY and --sigstore"),
        (["--staging", "--key", "k.key"], "--staging only applies to --sigstore"),
        (["--sigstore", "--passphrase-fd", "0"], "--passphrase-fd only applies to --key"),
    ],
)
def test_usage_refusals_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    token = {"SIGSTORE_IDENTITY_TOKEN": _token()}  # never used: refused before
    result = keyless(tmp_path, *args, env=token)
    assert_one_line_error(result, 2)
    assert words in result.stderr
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("not-a-jwt", "malformed"),
        ("a.b.c", "malformed"),
        (EXPIRED, "malformed or missing claims"),  # pyjwt's expiry check, inside sigstore
        (WRONG_AUDIENCE, "malformed or missing claims"),
        ("é" * 10, "not an OIDC token"),
        ("x" * 70_000, "not an OIDC token"),
    ],
)
def test_unusable_token_is_exit_2_and_never_printed(tmp_path: Path, token: str, why: str) -> None:
    result = keyless(tmp_path, "--sigstore", env={"SIGSTORE_IDENTITY_TOKEN": token})
    assert_one_line_error(result, 2)
    assert "SIGSTORE_IDENTITY_TOKEN" in result.stderr and why in result.stderr
    assert token[:40] not in result.stderr + result.stdout
    _nothing_written(tmp_path)


def test_token_is_checked_before_any_step_runs(tmp_path: Path) -> None:
    """A malformed token with a malformed metrics file: the token is refused first, at once."""
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = keyless(tmp_path, "--sigstore", "--canary-metrics", str(bad),
                     env={"SIGSTORE_IDENTITY_TOKEN": "not-a-jwt"})  # fmt: skip
    assert_one_line_error(result, 2)
    assert "identity token" in result.stderr
    _nothing_written(tmp_path)


def test_gitlab_id_token_is_read_from_sigstore_id_token(tmp_path: Path) -> None:
    """docs/ci/gitlab-ci-keyless.yml's `id_tokens: SIGSTORE_ID_TOKEN` is what nebsign reads."""
    missing = keyless(tmp_path, "--sigstore", env={"GITLAB_CI": "true"})
    assert_one_line_error(missing, 3)
    assert "SIGSTORE_ID_TOKEN" in missing.stderr
    bad = keyless(tmp_path, "--sigstore", env={"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": EXPIRED})
    assert_one_line_error(bad, 2)
    assert "the CI's OIDC credential is not a usable Sigstore identity token" in bad.stderr
    _nothing_written(tmp_path)


class _TokenEndpoint(BaseHTTPRequestHandler):
    """GitHub Actions' OIDC token endpoint, as the runner exposes it (loopback here)."""

    seen: list[tuple[str, str]] = []
    token = EXPIRED

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"value": type(self).token}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def github_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _TokenEndpoint.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_github_actions_ambient_token_is_requested_once_and_checked(
    tmp_path: Path, github_endpoint: str
) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": github_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-secret",
    }
    result = keyless(tmp_path, "--sigstore", env=env)
    assert_one_line_error(result, 2)
    assert "the CI's OIDC credential is not a usable" in result.stderr
    assert "runner-request-secret" not in result.stderr
    [(path, auth)] = _TokenEndpoint.seen  # one token, obtained once
    assert "audience=sigstore" in path and auth == "bearer runner-request-secret"
    _nothing_written(tmp_path)


def test_github_actions_without_id_token_permission_is_exit_3(tmp_path: Path) -> None:
    result = keyless(tmp_path, "--sigstore", env={"GITHUB_ACTIONS": "true"})
    assert_one_line_error(result, 3)
    assert "id-token: write" in result.stderr
    _nothing_written(tmp_path)


def test_help_names_what_a_host_must_pin() -> None:
    result = run_cli("release", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for words in (
        "--sigstore",
        "SIGSTORE_IDENTITY_TOKEN",
        "id-token: write",
        "SIGSTORE_ID_TOKEN",
        "https://token.actions.githubusercontent.com",
        "[[identities]] identity = the SAN, issuer = the OIDC issuer",
        "[sigstore] instance",
        "byte for byte",
    ):
        assert words in text, words
