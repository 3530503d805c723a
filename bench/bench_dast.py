"""DAST benchmark: `nebsign scan dast` against wapiti3 3.2.3 on the same apps, same run.

Run by hand (not a test):  .venv/bin/python bench/bench_dast.py [--skip-wapiti]

Needs wapiti in a separate venv (never in nebsign's):

    python3 -m venv bench/_work/wapiti-venv
    bench/_work/wapiti-venv/bin/pip install wapiti3==3.2.3

Starts the deliberately vulnerable test app and its hardened twin
(tests/dast/testapp.py) on 127.0.0.1, each behind a counter of the requests
it receives (so "requests" is measured at the server, the same way for both
tools), and runs each tool on each app: classes found (a class counts only
if every endpoint that has it is reported), false positives on the twin, wall
time, requests. Wapiti runs offline: its SSRF/exec callback endpoint is a
loopback port, no module that downloads anything (wapp, nikto, htp, cms,
takeover, log4shell...), `--no-bugreport`, its session under bench/_work.
Then the sustained request rate of nebsign's engine at the default
concurrency and rate limit, against that limit.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "_work"
WAPITI = WORK / "wapiti-venv" / "bin" / "wapiti"
sys.path.insert(0, str(REPO / "tests"))

from dast.servers import serve  # noqa: E402
from dast.testapp import make_app  # noqa: E402

ENV = {**os.environ}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)

#: class -> endpoints of the vulnerable app that have it
CLASSES: dict[str, list[str]] = {
    "xss-reflected": ["/search", "/profile", "/greet", "/link"],
    "xss-stored": ["/guestbook"],
    "xss-dom": ["/dom"],
    "sqli-error": ["/item"],
    "sqli-boolean": ["/product"],
    "sqli-union": ["/product"],
    "sqli-time": ["/track"],
    "login-bypass-sqli": ["/login"],
    "command-injection": ["/ping"],
    "path-traversal": ["/file"],
    "open-redirect": ["/go"],
    "crlf-injection": ["/lang"],
    "ssti": ["/hello"],
    "xxe": ["/xml"],
    "xpath-injection": ["/xpath"],
    "jsonp-callback": ["/jsonp"],
    "ssrf": ["/fetch"],
    "http-parameter-pollution": ["/share"],
    "source-disclosure": ["/.git/HEAD", "/app.py.bak"],
    "csrf": ["/transfer"],
    "clickjacking": ["/"],
    "cors-reflected-origin": ["/api/data"],
    "unauthenticated-access": ["/api/v1/admin/users"],
}
#: wapiti category -> the classes it can stand for (generous: SQL covers every SQLi kind)
WAPITI_KINDS: dict[str, set[str]] = {
    "SQL Injection": {
        "sqli-error",
        "sqli-boolean",
        "sqli-union",
        "login-bypass-sqli",
        "xpath-injection",
    },
    "Blind SQL Injection": {"sqli-time", "sqli-boolean"},
    "Cross Site Scripting": {"xss-reflected", "xss-stored", "xss-dom"},
    "Reflected Cross Site Scripting": {"xss-reflected", "xss-dom"},
    "Stored Cross Site Scripting": {"xss-stored"},
    "Command execution": {"command-injection"},
    "Path Traversal": {"path-traversal"},
    "Open Redirect": {"open-redirect"},
    "CRLF Injection": {"crlf-injection"},
    "XML External Entity": {"xxe"},
    "Server Side Request Forgery": {"ssrf"},
    "Cross Site Request Forgery": {"csrf"},
    "Clickjacking Protection": {"clickjacking"},
    "Backup file": {"source-disclosure"},
    "Potentially dangerous file": {"source-disclosure"},
}
WAPITI_MODULES = (
    "backup,cookieflags,crlf,csp,csrf,exec,file,http_headers,permanentxss,redirect,"
    "sql,ssrf,timesql,upload,xss,xxe,methods"
)
PASSIVE_NEBSIGN = {
    "missing-csp", "missing-hsts", "missing-x-content-type-options", "cookie-no-httponly",
    "cookie-no-secure", "cookie-no-samesite", "version-banner", "stack-trace",
    "sql-error-disclosure", "full-path-disclosure", "directory-listing",
}  # fmt: skip
WAPITI_PASSIVE = {
    "Content Security Policy Configuration", "HTTP Secure Headers", "Secure Flag cookie",
    "HttpOnly Flag cookie", "Clickjacking Protection", "MIME Type Confusion",
    "Unencrypted Channels", "Internal Server Error", "Fingerprint web technology",
}  # fmt: skip


class Counted:
    """A WSGI app wrapper counting requests (thread-safe enough: itertools.count)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._n = itertools.count()
        self.seen = 0

    def __call__(self, env: dict[str, Any], start: Any) -> Any:
        self.seen = next(self._n) + 1
        return self.app(env, start)


def _path(url: str) -> str:
    """The path of a full URL or of a path (wapiti reports paths), without query."""
    if "://" in url:
        url = "/" + url.split("/", 3)[-1] if url.count("/") >= 3 else "/"
    return url.split("?")[0].split("#")[0] or "/"


def run_nebsign(base: str, label: str) -> tuple[set[tuple[str, str]], float]:
    spec = WORK / "openapi.json"
    from dast.testapp import OPENAPI

    spec.write_text(json.dumps(OPENAPI))
    start = time.perf_counter()
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "nebsign"), "scan", "dast", base + "/", "--openapi",
         str(spec), "--format", "json", "-q"],
        capture_output=True, env=ENV, check=False, timeout=900,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"nebsign failed: {proc.stderr.decode()[-2000:]}")
    doc = json.loads(proc.stdout)
    hits = {(f["rule_id"], _path(f["location"]["url"])) for f in doc["findings"]}
    return hits, elapsed


def run_wapiti(base: str, label: str) -> tuple[set[tuple[str, str]], float, dict[str, int]]:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        out = Path(tmp) / "report.json"
        env = {**ENV, "HOME": tmp}
        start = time.perf_counter()
        proc = subprocess.run(
            [str(WAPITI), "-u", base + "/", "--scope", "folder", "-m", WAPITI_MODULES,
             "--swagger", base + "/openapi.json", "--flush-session", "--store-session", tmp,
             "--endpoint", "http://127.0.0.1:9/", "--no-bugreport", "-f", "json", "-o",
             str(out), "--max-scan-time", "1800", "-v", "0"],
            capture_output=True, env=env, check=False, timeout=2400,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        if not out.is_file():
            sys.exit(f"wapiti wrote no report ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        doc = json.loads(out.read_text())
        keep = WORK / f"wapiti-{label}.json"
        keep.write_text(json.dumps(doc, indent=1))
    hits: set[tuple[str, str]] = set()
    per_category: dict[str, int] = {}
    for category, items in doc.get("vulnerabilities", {}).items():
        per_category[category] = len(items)
        for item in items:
            for kind in WAPITI_KINDS.get(category, {f"wapiti:{category}"}):
                hits.add((kind, _path(item.get("path", "/"))))
    return hits, elapsed, per_category


def classes_found(hits: set[tuple[str, str]]) -> set[str]:
    return {c for c, paths in CLASSES.items() if all((c, p) in hits for p in paths)}


def sustained_rate(base: str, requests: int = 1500) -> tuple[float, float]:
    from nebsign.dast.engine import Engine, EngineLimits
    from nebsign.dast.model import RequestSpec
    from nebsign.dast.scope import Scope

    limits = EngineLimits()

    async def go() -> float:
        async with Engine(Scope.build(base + "/"), limits) as engine:
            start = time.perf_counter()
            await asyncio.gather(
                *(engine.send(RequestSpec("GET", base + "/health")) for _ in range(requests))
            )
            return requests / (time.perf_counter() - start)

    return asyncio.run(go()), limits.rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-wapiti", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    tools = [("nebsign", run_nebsign)] + ([] if args.skip_wapiti else [("wapiti", run_wapiti)])
    # per app: nebsign, wapiti, nebsign again; nebsign's time is the mean of the runs that
    # bracket wapiti's, so a change of load on this shared VM during the run hits both
    order = [("nebsign", run_nebsign), *tools[1:], ("nebsign", run_nebsign)]
    for hardened in (False, True):
        label = "twin" if hardened else "vulnerable"
        for tool, runner in order if not args.skip_wapiti else tools:
            app = Counted(make_app(hardened))
            with serve(app) as base:
                got = runner(base, label)
            hits, elapsed = got[0], got[1]
            key = f"{tool} {label}"
            entry = results.setdefault(key, {"hits": hits, "times": [], "requests": app.seen})
            entry["times"].append(elapsed)
            entry["time"] = sum(entry["times"]) / len(entry["times"])
            if len(got) > 2:
                entry["categories"] = got[2]
            print(f"{key}: {elapsed:.1f} s, {app.seen} requests", flush=True)
    for tool, _ in tools:
        vuln, twin = results[f"{tool} vulnerable"], results[f"{tool} twin"]
        found = classes_found(vuln["hits"])
        passive = PASSIVE_NEBSIGN if tool == "nebsign" else {f"wapiti:{c}" for c in WAPITI_PASSIVE}
        fps = sorted(h for h in twin["hits"] if h[0] not in passive)
        missing = sorted(set(CLASSES) - found)
        print(f"\n{tool}: classes found {len(found)}/{len(CLASSES)}; missing {missing}")
        print(f"{tool}: findings on the twin (false positives) {len(fps)}: {fps[:20]}")
        if "categories" in vuln:
            print(f"{tool}: categories on the vulnerable app {vuln['categories']}")
            print(f"{tool}: categories on the twin {twin['categories']}")
    if not args.skip_wapiti:
        for app in ("vulnerable", "twin"):
            n, w = results[f"nebsign {app}"], results[f"wapiti {app}"]
            runs = " + ".join(f"{t:.1f}" for t in n["times"])
            print(
                f"\n{app}: time nebsign {n['time']:.1f} s (mean of {runs}) / wapiti "
                f"{w['time']:.1f} s = "
                f"{n['time'] / w['time']:.2f}x; requests {n['requests']} / {w['requests']}"
            )
    with serve(Counted(make_app(True))) as base:
        rate, limit = sustained_rate(base)
    print(f"\nsustained rate at the defaults: {rate:.0f} requests/s; limit {limit:.0f}/s "
          f"= {rate / limit:.2f}x the limit")  # fmt: skip


if __name__ == "__main__":
    main()
