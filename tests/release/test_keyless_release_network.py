"""``nebsign release --sigstore`` for real: Fulcio, Rekor, then the agent installs it offline.

The manual release check of keyless signing (issue 15 item 6: no offline Sigstore stack
can be assembled from registry packages, and a Fulcio/Rekor test double proves nothing).
Skipped unless NEBSIGN_NETWORK_TESTS=1 and an OIDC token is at hand: SIGSTORE_IDENTITY_TOKEN,
or a CI's ambient credential (GitHub Actions with ``id-token: write``; GitLab with
``id_tokens: SIGSTORE_ID_TOKEN``). NEBSIGN_SIGSTORE_STAGING=1 uses Sigstore's staging
instance. Run it in such a job as::

    NEBSIGN_NETWORK_TESTS=1 .venv/bin/python -m pytest -p no:cacheprovider \\
        tests/release/test_keyless_release_network.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import run_cli
from releasekit import EXAMPLE

HAS_TOKEN = bool(
    os.environ.get("SIGSTORE_IDENTITY_TOKEN")
    or os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    or (os.environ.get("GITLAB_CI") and os.environ.get("SIGSTORE_ID_TOKEN"))
)
pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        os.environ.get("NEBSIGN_NETWORK_TESTS") != "1" or not HAS_TOKEN,
        reason="needs the network and an OIDC token (set NEBSIGN_NETWORK_TESTS=1 and "
        "SIGSTORE_IDENTITY_TOKEN, or run in a CI job with OIDC)",
    ),
]
STAGING = os.environ.get("NEBSIGN_SIGSTORE_STAGING") == "1"


def _host(etc: Path, root: Path, trust: str) -> Path:
    """A host: the trust policy the release printed, an agent policy requiring SAST."""
    etc.mkdir(mode=0o755, parents=True)
    (etc / "trust.toml").write_text(trust)
    host = etc / "agent.toml"
    host.write_text(
        f'root = {json.dumps(str(root))}\ntrust_policy = "trust.toml"\n'
        'name = "exchange-api"\nkeep = 3\n[[require]]\npredicate_type = "sast"\nverdict = "pass"\n'
    )
    for path in (etc / "trust.toml", host):
        os.chmod(path, 0o644)
    return host


def test_keyless_release_installs_under_its_identity_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # expires 30 days from now
    out = tmp_path / "out"
    args = ["release", str(EXAMPLE), str(EXAMPLE), "-o", str(out), "--sigstore",
            "--name", "exchange-api", "--version", "1.4.3", "--format", "json"]  # fmt: skip
    result = run_cli(*args, *(["--staging"] if STAGING else []))
    assert result.exit_code == 0, result.stderr
    token = os.environ.get("SIGSTORE_IDENTITY_TOKEN", "")
    assert not token or token not in result.stdout + result.stderr  # never printed
    outcome = json.loads(result.stdout)
    signer = outcome["signer"]
    assert signer["kind"] == "sigstore"
    assert signer["instance"] == ("staging" if STAGING else "production")
    assert signer["identity"] and signer["issuer"].startswith("https://")

    # every bundle is keyless, under the one certificate
    certs = set()
    for name in ["release.json.sigstore.json", *json.loads((out / "index.json").read_text())[
        "attestations"], "report/report.json.sigstore.json"]:  # fmt: skip
        material = json.loads((out / name).read_text())["verificationMaterial"]
        assert material["tlogEntries"], name
        certs.add(material["certificate"]["rawBytes"])
    assert len(certs) == 1

    # a host pinning the printed identity installs it; one pinning another identity refuses
    host = _host(tmp_path / "etc", tmp_path / "host", signer["host_policy"])
    installed = run_cli("agent", "install", str(out), "--policy", str(host), "--format", "json")
    assert installed.exit_code == 0, installed.stderr
    assert json.loads(installed.stdout)["status"] == "installed"
    wrong = signer["host_policy"].replace(json.dumps(signer["identity"]), '"someone@example.com"')
    assert wrong != signer["host_policy"]
    other = _host(tmp_path / "etc2", tmp_path / "host2", wrong)
    refused = run_cli("agent", "install", str(out), "--policy", str(other))
    assert refused.exit_code == 1, refused.stderr
    report = run_cli("report", "verify", str(out / "report"), "--release", str(out),
                     "--policy", str(tmp_path / "etc" / "trust.toml"))  # fmt: skip
    assert report.exit_code == 0, report.stderr
