"""Passive checks: read every in-scope response, send nothing.

Security headers (CSP, HSTS on HTTPS, X-Content-Type-Options, framing
protection), cookie flags, version banners, stack traces, SQL error text,
full paths and directory listings. Site-wide header findings are reported
once per origin, page findings once per route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from nebsign.dast.checks._util import SQL_ERRORS, excerpt
from nebsign.dast.model import Response, route_of
from nebsign.findings import Confidence, Severity

__all__ = ["PASSIVE_RULES", "PassiveHit", "PassiveRule", "passive_hits"]

SCAN_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class PassiveRule:
    rule_id: str
    title: str
    severity: Severity
    cwe: tuple[str, ...]
    recommendation: str
    confidence: Confidence = Confidence.HIGH


@dataclass(frozen=True, slots=True)
class PassiveHit:
    rule: PassiveRule
    response: Response
    key: str
    proof: str
    message: str
    parameter: str | None = None


def _r(rule_id: str, title: str, sev: Severity, cwe: str, fix: str) -> PassiveRule:
    return PassiveRule(rule_id, title, sev, (cwe,), fix)


PASSIVE_RULES = {
    r.rule_id: r
    for r in (
        _r(
            "missing-csp",
            "No Content-Security-Policy",
            Severity.LOW,
            "CWE-693",
            "Send a Content-Security-Policy that restricts script sources.",
        ),
        _r(
            "missing-hsts",
            "No Strict-Transport-Security on HTTPS",
            Severity.LOW,
            "CWE-319",
            "Send Strict-Transport-Security: max-age=31536000; includeSubDomains.",
        ),
        _r(
            "missing-x-content-type-options",
            "No X-Content-Type-Options: nosniff",
            Severity.LOW,
            "CWE-693",
            "Send X-Content-Type-Options: nosniff.",
        ),
        _r(
            "clickjacking",
            "Page can be framed (clickjacking)",
            Severity.MEDIUM,
            "CWE-1021",
            "Send X-Frame-Options: DENY or CSP frame-ancestors 'none'/'self'.",
        ),
        _r(
            "cookie-no-httponly",
            "Cookie without HttpOnly",
            Severity.LOW,
            "CWE-1004",
            "Set HttpOnly on cookies scripts need not read.",
        ),
        _r(
            "cookie-no-secure",
            "Cookie without Secure on HTTPS",
            Severity.LOW,
            "CWE-614",
            "Set Secure on every cookie of an HTTPS site.",
        ),
        _r(
            "cookie-no-samesite",
            "Cookie without SameSite",
            Severity.LOW,
            "CWE-1275",
            "Set SameSite=Lax or Strict.",
        ),
        _r(
            "version-banner",
            "Server version disclosed",
            Severity.INFO,
            "CWE-200",
            "Remove version numbers from Server and X-Powered-By headers.",
        ),
        _r(
            "stack-trace",
            "Stack trace in response",
            Severity.MEDIUM,
            "CWE-209",
            "Show a generic error page; log details server-side.",
        ),
        _r(
            "sql-error-disclosure",
            "SQL error text in response",
            Severity.MEDIUM,
            "CWE-209",
            "Never show database errors to clients.",
        ),
        _r(
            "full-path-disclosure",
            "Server file path disclosed",
            Severity.LOW,
            "CWE-200",
            "Show generic errors; do not print server paths.",
        ),
        _r(
            "directory-listing",
            "Directory listing enabled",
            Severity.LOW,
            "CWE-548",
            "Disable directory listings.",
        ),
    )
}

_VERSION = re.compile(r"\d+\.\d+")
_TRACE = re.compile(
    r"(Traceback \(most recent call last\)|Exception in thread \""
    r"|\n\s+at [\w$.]+\([\w$]+\.java:\d+\)"
    r"|Fatal error: .{0,200} on line \d+|\.rb:\d+:in `|System\.\w+Exception:)"
)
_PATH = re.compile(
    r"(File \"(/[^\"\n]{1,300})\", line \d+|in (/[^\s<]{1,300}\.php) on line \d+"
    r"|(?<![\w/.])(/(?:home|var/www|usr/(?:local/)?lib|srv|opt)/[\w./-]{1,300}\.(?:py|php|rb|java|js|pl)))"
)
_LISTING = re.compile(r"<title>\s*(Index of /|Directory listing for /)", re.I)


def _origin(resp: Response) -> str:
    p = urlsplit(resp.url)
    return f"{p.scheme}://{p.netloc}"


def passive_hits(resp: Response) -> list[PassiveHit]:
    """Every passive finding in one response (the caller de-duplicates by ``key``)."""
    if resp.status == 0:
        return []
    out: list[PassiveHit] = []
    R = PASSIVE_RULES
    origin, route = _origin(resp), route_of(resp.url)
    https = resp.url.lower().startswith("https://")
    csp = resp.header("content-security-policy") or ""
    if resp.is_html and resp.status < 400:
        if not csp:
            out.append(
                PassiveHit(
                    R["missing-csp"],
                    resp,
                    origin,
                    "no Content-Security-Policy header",
                    "HTML pages are served without a Content-Security-Policy",
                )
            )
        xfo = (resp.header("x-frame-options") or "").strip().lower()
        if xfo not in ("deny", "sameorigin") and "frame-ancestors" not in csp.lower():
            out.append(
                PassiveHit(
                    R["clickjacking"],
                    resp,
                    origin,
                    "no X-Frame-Options and no CSP frame-ancestors",
                    "HTML pages can be framed by any site",
                )
            )
    if https and not resp.header("strict-transport-security"):
        out.append(
            PassiveHit(
                R["missing-hsts"],
                resp,
                origin,
                "no Strict-Transport-Security",
                "HTTPS responses do not set HSTS",
            )
        )
    if resp.status < 400 and (resp.header("x-content-type-options") or "").lower() != "nosniff":
        out.append(
            PassiveHit(
                R["missing-x-content-type-options"],
                resp,
                origin,
                "X-Content-Type-Options is not nosniff",
                "responses can be MIME-sniffed by browsers",
            )
        )
    for raw in resp.header_all("set-cookie"):
        out.extend(_cookie_hits(resp, raw, origin, https))
    for header in ("server", "x-powered-by", "x-aspnet-version"):
        value = resp.header(header)
        if value and _VERSION.search(value):
            out.append(
                PassiveHit(
                    R["version-banner"],
                    resp,
                    f"{origin} {header}",
                    f"{header}: {value[:120]}",
                    f"the {header} header names software versions",
                )
            )
    text = resp.text[:SCAN_BYTES] if resp.body else ""
    if (m := _TRACE.search(text)) is not None:
        out.append(
            PassiveHit(
                R["stack-trace"],
                resp,
                route,
                excerpt(text, m.group(0), 100),
                "the response contains a stack trace",
            )
        )
    if (m := SQL_ERRORS.search(text)) is not None:
        out.append(
            PassiveHit(
                R["sql-error-disclosure"],
                resp,
                route,
                excerpt(text, m.group(0)),
                "the response contains database error text",
            )
        )
    if (m := _PATH.search(text)) is not None:
        path = next(g for g in m.groups()[1:] if g)
        out.append(
            PassiveHit(
                R["full-path-disclosure"],
                resp,
                route,
                excerpt(text, path, 60),
                f"the response shows a server path ({path[:100]})",
            )
        )
    if resp.is_html and _LISTING.search(text):
        out.append(
            PassiveHit(
                R["directory-listing"],
                resp,
                route,
                text[:200],
                "the server lists a directory's files",
            )
        )
    return out


def _cookie_hits(resp: Response, raw: str, origin: str, https: bool) -> list[PassiveHit]:
    try:
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
    except CookieError:
        return []
    out = []
    low = raw.lower()
    for name in jar:
        key = f"{origin} {name}"
        if "httponly" not in low:
            out.append(
                PassiveHit(
                    PASSIVE_RULES["cookie-no-httponly"],
                    resp,
                    key,
                    f"Set-Cookie: {name}=…",
                    f"cookie {name!r} lacks HttpOnly",
                    name,
                )
            )
        if https and "secure" not in low.replace("httponly", ""):
            out.append(
                PassiveHit(
                    PASSIVE_RULES["cookie-no-secure"],
                    resp,
                    key,
                    f"Set-Cookie: {name}=…",
                    f"cookie {name!r} lacks Secure",
                    name,
                )
            )
        if "samesite" not in low:
            out.append(
                PassiveHit(
                    PASSIVE_RULES["cookie-no-samesite"],
                    resp,
                    key,
                    f"Set-Cookie: {name}=…",
                    f"cookie {name!r} lacks SameSite",
                    name,
                )
            )
    return out
