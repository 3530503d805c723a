"""``nebsign scan dast URL``: probe a running application, gated by the policy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from nebsign.cli._attestopts import attest_options
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import emit_json, format_option, progress, quiet_option, warn
from nebsign.cli._verdictopts import (
    baseline_options,
    outputs_param,
    parse_date,
    report_accepted,
)
from nebsign.dast.auth import TOKEN_ENV
from nebsign.dast.auth import request_auth as _auth

if TYPE_CHECKING:
    from nebsign.verdict_files import VerdictOutputs

__all__ = ["dast"]


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
@attest_options("DAST_V1")
@click.option(
    "--subject-manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Make the release manifest (its digest) the statement's subject.",
)
@baseline_options()
@click.option("--today", "today_text", hidden=True)
@format_option
@quiet_option
@needs_extra("dast")
@outputs_param()
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
    sast_path: Path | None,
    source_root: Path | None,
    outputs: VerdictOutputs,
    subject_manifest: Path | None,
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
    from nebsign.dast.auth import extra_headers
    from nebsign.dast.gate import DastRequest, openapi_input, run_dast_scan
    from nebsign.dast.report import format_text, result_dict

    auth_headers, auth_cookies = _auth(auth_file)
    auth_headers.update(extra_headers(headers))
    spec_bytes, spec_url = openapi_input(openapi)
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
        today=parse_date(today_text, "--today"),
        auth_headers=auth_headers,
        auth_cookies=auth_cookies,
    )
    quiet_bar = quiet or output_format == "json"
    result = run_dast_scan(
        request,
        outputs,
        subject_manifest=subject_manifest,
        sast_result=sast_path,
        source_root=source_root,
        progress=lambda total: progress("dast", total, quiet=quiet_bar, unit="requests"),
    )
    verdict = result.verdict
    report_accepted(result.accepted, outputs.accept, quiet=quiet)
    if output_format == "json":
        emit_json(result_dict(verdict, result.manifest))
    else:
        if verdict.outcome.not_covered_total and not quiet:
            warn(f"budget ran out: {verdict.outcome.not_covered_total} check(s) not covered")
        click.echo(format_text(verdict), nl=False)
    result.raise_for_verdict()
