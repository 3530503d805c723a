"""docs/ci/*-keyless.yml: parsed, and their commands run here as far as offline allows.

Offline there is no Fulcio or Rekor, so each job runs until nebsign has read the job's
OIDC token from where the example says the CI puts it -- GitHub Actions' token endpoint
(a real HTTP server on 127.0.0.1 standing in for the runner's) and GitLab's
``id_tokens: SIGSTORE_ID_TOKEN`` -- and refuses it (expired) with exit 2 before any step,
publishing nothing. The step that writes the hosts' trust policy runs on a result
document of the shape ``nebsign release --format json`` prints. Signing for real:
``test_keyless_release_network.py``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from test_ci_examples import CI, TAG, _env, _expand, checkout
from test_keyless_release import EXPIRED, _no_ambient_credentials, _TokenEndpoint, github_endpoint

from nebsign.policy.trust import TrustPolicy
from nebsign.release.signer import host_trust_policy

__all__ = ["_no_ambient_credentials", "checkout", "github_endpoint"]  # fixtures used here

GH_IDENTITY = "https://github.com/nebsign/example/.github/workflows/release.yml@refs/tags/v1.4.3"
GH_ISSUER = "https://token.actions.githubusercontent.com"


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_env(env),
        check=False,
    )


def _github() -> tuple[dict, list[dict]]:
    workflow = yaml.safe_load((CI / "github-actions-keyless.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
    job = workflow["jobs"]["release"]
    text = json.dumps(workflow)
    assert "secrets." not in text and "--key" not in text and "PASSPHRASE" not in text
    return job, job["steps"]


def test_github_keyless_workflow_reads_the_runner_token_and_stops_before_the_network(
    checkout: Path, github_endpoint: str
) -> None:
    job, steps = _github()
    runner = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": github_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-secret",
    }
    ran: dict[str, subprocess.CompletedProcess[str]] = {}
    for step in steps:
        if "uses" in step or step["name"] == "Install nebsign":
            continue
        env = {
            k: _expand(str(v), {"github.ref_name": TAG})
            for k, v in {**job["env"], **step.get("env", {})}.items()
        }
        ran[step["name"]] = proc = _bash(step["run"], checkout, {**env, **runner})
        if proc.returncode != 0:
            break
    release = ran["nebsign release (keyless)"]
    assert release.returncode == 2, release.stderr
    assert "the CI's OIDC credential is not a usable Sigstore identity token" in release.stderr
    assert "runner-request-secret" not in release.stderr
    [(path, auth)] = _TokenEndpoint.seen
    assert "audience=sigstore" in path and auth == "bearer runner-request-secret"
    assert not (checkout / "release").exists()


def test_github_keyless_workflow_writes_the_trust_policy_hosts_pin(checkout: Path) -> None:
    _, steps = _github()
    [step] = [s for s in steps if s.get("name") == "The trust policy hosts pin"]
    result = {"signer": {"host_policy": host_trust_policy(GH_IDENTITY, GH_ISSUER, "production")}}
    (checkout / "release-result.json").write_text(json.dumps(result))
    (checkout / "release").mkdir()
    proc = _bash(step["run"], checkout, {})
    assert proc.returncode == 0, proc.stderr
    policy = TrustPolicy.from_toml((checkout / "release" / "trust.toml").read_bytes())
    [trusted] = policy.identities
    assert (trusted.identity, trusted.issuer) == (GH_IDENTITY, GH_ISSUER)
    assert GH_IDENTITY in proc.stdout  # printed in the job log too


@pytest.mark.parametrize("token", [None, EXPIRED])
def test_gitlab_keyless_job_reads_sigstore_id_token_and_stops_before_the_network(
    checkout: Path, token: str | None
) -> None:
    config = yaml.safe_load((CI / "gitlab-ci-keyless.yml").read_text())
    job = config["release"]
    assert job["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert "--key" not in json.dumps(job) and "PASSPHRASE" not in json.dumps(job)
    env = {k: str(v) for k, v in job["variables"].items()}
    env.update(CI_COMMIT_TAG=TAG, GITLAB_CI="true")  # what a GitLab runner sets
    if token is not None:
        env["SIGSTORE_ID_TOKEN"] = token  # what `id_tokens:` gives the job
    proc = subprocess.run(
        ["sh", "-e", "-c", "\n".join(job["script"])],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=_env(env),
        check=False,
    )
    if token is None:
        assert proc.returncode == 3, proc.stderr
        assert "SIGSTORE_ID_TOKEN" in proc.stderr
    else:
        assert proc.returncode == 2, proc.stderr
        assert "the CI's OIDC credential is not a usable Sigstore identity token" in proc.stderr
    assert not (checkout / "release").exists()
    assert "nebsign release: sast" not in proc.stderr  # refused before any step ran
