"""``nebsign scan dast URL``: probe a running application, gated by the policy."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click

from nebsign._internal.atomic import atomic_write
from nebsign._internal.readlimit import read_bounded
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import emit_json, format_option, quiet_option, warn
from nebsign.errors import InputError

__all__ = ["dast"]

TOKEN_ENV = "NEBSIGN_DAST_TOKEN"  # noqa: S105 - the name of a variable, not a secret
MAX_AUTH_BYTES = 64 * 1024
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not a date like 2026-12-31") from exc


def _auth(auth_file: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies from --auth-file and $NEBSIGN_DAST_TOKEN (never argv)."""
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if auth_file is not None:
        raw = read_bounded(auth_file, MAX_AUTH_BYTES, "auth file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"auth file {auth_file}: not UTF-8 text") from exc
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip() or any(c in name for c in " \t"):
                raise InputError(f"auth file {auth_file}: line {n}: expected 'Header: value'")
            if name.strip().lower() == "cookie":
                for part in value.split(";"):
                    k, eq, v = part.strip().partition("=")
                    if not eq or not k:
                        raise InputError(f"auth file {auth_file}: line {n}: bad cookie")
                    cookies[k] = v
            else:
                headers[name.strip()] = value.strip()
    token = os.environ.get(TOKEN_ENV)
    if token:
        headers["Authorization"] = f"Bearer {token.strip()}"
    return headers, cookies


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--header {item[:60]!r}: expected 'Name: value'")
        if name.strip().lower() in _SECRET_HEADERS:
            raise InputError(
                f"--header {name.strip()}: secrets are not accepted on the command line",
                hint=f"put it in --auth-file or ${TOKEN_ENV}",
            )
        out[name.strip()] = value.strip()
    return out


@click.command("dast")
@click.argument("url")
@click.option(
    "--scope",
    "scope_extra",
    multiple=True,
    metavar="ORIGIN",
    help="Also allow this origin (scheme://host[:port]); needed for non-loopback targets.",
)
@click.option("--path-prefix", "prefixes", multiple=True, help="Only paths under this prefix.")
@click.option("--exclude", multiple=True, help="Never request paths matching this glob.")
@click.option("--method", "methods", multiple=True, help="Allowed HTTP methods (default: all).")
@click.option("--checks", help="Comma-separated active checks to run (default: all).")
@click.option("--openapi", help="OpenAPI 3 document (JSON/YAML): a file, or a URL in scope.")
@click.option(
    "--auth-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Headers ('Name: value') and 'Cookie: a=b' lines sent with every request. "
    f"A bearer token can also come from ${TOKEN_ENV}.",
)
@click.option("--header", "headers", multiple=True, help="Extra non-secret header 'Name: value'.")
@click.option("--max-requests", type=click.IntRange(1), help="Request budget (policy default).")
@click.option("--time-budget", type=click.FloatRange(0.1), help="Seconds (policy default 300).")
@click.option("--concurrency", type=click.IntRange(1, 256), help="Requests in flight.")
@click.option("--rate", type=click.FloatRange(0), help="Requests per second at most (0: no limit).")
@click.option("--timeout", type=click.FloatRange(0.1), help="Seconds per request.")
@click.option("--max-pages", type=click.IntRange(1), help="Pages to crawl at most.")
@click.option(
    "--browser",
    is_flag=True,
    help="Confirm XSS candidates in headless Chromium (counts only those that run).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Policy TOML with a [dast] table (default: the bundled one).",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Baseline TOML of accepted findings (same format as SAST's).",
)
@click.option(
    "--sarif",
    "sarif_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write SARIF 2.1.0 here (the URL is each result's location).",
)
@click.option(
    "--sast",
    "sast_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A `scan sast --format json` result: link findings proven by both.",
)
@click.option(
    "--source-root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Root the --sast paths are relative to (default: the current directory).",
)
@click.option(
    "--attest",
    "attest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the verdict as a signed in-toto statement (DAST_V1) here.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Private key for --attest.",
)
@click.option(
    "--passphrase-fd",
    type=click.IntRange(min=0),
    metavar="N",
    help="Read the --key passphrase from fd N (else $NEBSIGN_PASSPHRASE, else a prompt).",
)
@click.option(
    "--subject-manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Make the release manifest (its digest) the statement's subject.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a baseline accepting every open finding (needs --who, --why; --until), "
    "then exit 0.",
)
@click.option("--who", help="Who accepts (with --write-baseline).")
@click.option("--why", help="Why it is acceptable (with --write-baseline).")
@click.option("--until", "until_text", help="Acceptance expiry date, e.g. 2026-12-31.")
@click.option("--today", "today_text", hidden=True)
@format_option
@quiet_option
@needs_extra("dast")
def dast(
    url: str,
    scope_extra: tuple[str, ...],
    prefixes: tuple[str, ...],
    exclude: tuple[str, ...],
    methods: tuple[str, ...],
    checks: str | None,
    openapi: str | None,
    auth_file: Path | None,
    headers: tuple[str, ...],
    max_requests: int | None,
    time_budget: float | None,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
    max_pages: int | None,
    browser: bool,
    policy_path: Path | None,
    baseline_path: Path | None,
    sarif_path: Path | None,
    sast_path: Path | None,
    source_root: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    subject_manifest: Path | None,
    write_baseline: Path | None,
    who: str | None,
    why: str | None,
    until_text: str | None,
    today_text: str | None,
    output_format: str,
    quiet: bool,
) -> None:
    """Crawl and probe a running application; exit 1 if the policy fails.

    \b
    Examples:
      nebsign scan dast http://127.0.0.1:8080/
      nebsign scan dast http://127.0.0.1:8080/ --openapi api.yaml --sarif dast.sarif
      NEBSIGN_DAST_TOKEN=... nebsign scan dast http://127.0.0.1:8080/ --time-budget 60
      nebsign scan dast https://staging.example.com/ --scope https://staging.example.com \\
          --exclude '/logout*' --attest dast.sigstore.json --key release.key

    \b
    Only loopback targets unless --scope names the origin; every request passes
    the scope check (links, forms and redirects elsewhere are recorded, never
    requested). Passive checks read every response; active checks (one module
    each) use non-destructive payloads. Levels per severity, rule and URL come
    from the policy's [dast] table.

    \b
    Active checks (--checks): xss-reflected xss-stored xss-dom sqli-error
    sqli-boolean sqli-union sqli-time login-bypass-sqli command-injection
    path-traversal open-redirect crlf-injection ssti xxe xpath-injection
    jsonp-callback ssrf http-parameter-pollution source-disclosure csrf
    cors-reflected-origin unauthenticated-access

    \b
    Exit codes: 0 policy passed, 1 policy failed, 2 bad input, 3 environment fault.
    """
    from nebsign.dast.gate import DastRequest, scan_dast
    from nebsign.dast.report import format_text, result_dict

    if attest_path is not None and key_path is None:
        raise click.UsageError("--attest needs --key")
    if write_baseline is not None and not (who and why):
        raise click.UsageError("--write-baseline needs --who and --why")
    until = _date(until_text, "--until")
    auth_headers, auth_cookies = _auth(auth_file)
    auth_headers.update(_headers(headers))
    spec_bytes = spec_url = None
    if openapi is not None:
        if openapi.startswith(("http://", "https://")):
            spec_url = openapi
        else:
            from nebsign.dast.openapi import MAX_SPEC_BYTES

            spec_bytes = read_bounded(openapi, MAX_SPEC_BYTES, "OpenAPI document")
    manifest = None
    if subject_manifest is not None:
        from nebsign.digest import sha256_bytes

        raw = read_bounded(subject_manifest, 256 * 1024 * 1024, "manifest")
        manifest = (subject_manifest.name, sha256_bytes(raw))
    request = DastRequest(
        target=url,
        scope_extra=scope_extra,
        prefixes=prefixes,
        exclude=exclude,
        methods=methods,
        checks=tuple(c.strip() for c in checks.split(",") if c.strip()) if checks else None,
        max_requests=max_requests,
        time_budget=time_budget,
        concurrency=concurrency,
        rate=rate,
        timeout=timeout,
        max_pages=max_pages,
        openapi=spec_bytes,
        openapi_url=spec_url,
        browser=browser,
        policy_path=policy_path,
        baseline_path=baseline_path,
        today=_date(today_text, "--today"),
        auth_headers=auth_headers,
        auth_cookies=auth_cookies,
    )
    from nebsign.cli._output import progress

    if max_requests is not None:
        total = max_requests
    else:
        from nebsign.dast.gate import load_dast_policy

        total = load_dast_policy(policy_path).max_requests
    with progress("dast", total, quiet=quiet or output_format == "json", unit="requests") as step:
        verdict = scan_dast(request, on_request=lambda: step(1))
    if sast_path is not None:
        from nebsign.dast.correlate import correlate_verdict

        verdict = correlate_verdict(verdict, sast_path, source_root or Path(os.getcwd()))
    if sarif_path is not None:
        from nebsign.dast.report import tools
        from nebsign.sarif import sarif_bytes, to_sarif

        log = to_sarif(
            verdict.findings,
            tools=tools(),
            driver_version=tools()["nebsign"],
            automation_id="nebsign/dast/",
        )
        atomic_write(sarif_path, sarif_bytes(log))
    if attest_path is not None:
        assert key_path is not None
        from nebsign.cli._keyopts import load_signing_key
        from nebsign.dast.report import statement
        from nebsign.signing import sign_statement

        bundle = sign_statement(
            statement(verdict, manifest), load_signing_key(str(key_path), passphrase_fd)
        )
        atomic_write(attest_path, bundle.to_json())
    if write_baseline is not None:
        from nebsign.findings import Status
        from nebsign.sast.baseline import render_baseline

        assert who is not None and why is not None
        open_findings = [f for f in verdict.findings if f.status is Status.OPEN]
        atomic_write(write_baseline, render_baseline(open_findings, who=who, why=why, until=until))
        if not quiet:
            warn(f"wrote {len(open_findings)} accepted finding(s) to {write_baseline}")
    if output_format == "json":
        emit_json(result_dict(verdict, manifest))
    else:
        if verdict.outcome.not_covered_total and not quiet:
            warn(f"budget ran out: {verdict.outcome.not_covered_total} check(s) not covered")
        click.echo(format_text(verdict), nl=False)
    if not verdict.passed and write_baseline is None:
        from nebsign.dast.policy import DastGateFailed

        raise DastGateFailed(verdict.reason())
