"""Demo step: DAST against the bundled sample shop, started on 127.0.0.1 and stopped after."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from nebsign.dast.gate import DastRequest, load_dast_policy, scan_dast
from nebsign.dast.policy import DastGateFailed

from . import DemoContext

TITLE = "DAST gate: crawl and probe a running service on loopback, judged by policy"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serve(app: Callable[..., Any]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _shop(ctx: DemoContext) -> Any:
    spec = importlib.util.spec_from_file_location(
        "nebsign_demo_shop", ctx.examples / "dast" / "shop.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(ctx: DemoContext) -> Iterator[str]:
    shop = _shop(ctx)
    for fixed in (False, True):
        name = "fixed" if fixed else "vulnerable"
        with _serve(shop.make_app(fixed=fixed)) as url:
            verdict = scan_dast(DastRequest(target=url, time_budget=60))
        out = verdict.outcome
        yield (
            f"examples/dast/shop.py ({name}) on {out.origins[0]}: {out.requests} requests, "
            f"{len(out.endpoints)} endpoints, stopped after the scan"
        )
        for f in sorted(verdict.findings, key=lambda f: (-f.severity.rank, f.sort_key())):
            where = f"{f.location.method} {(f.location.url or '').split('/', 3)[-1] or '/'}"
            param = f" [{f.location.parameter}]" if f.location.parameter else ""
            yield f"  {f.properties['level']:<4} {f.severity.value:<8} {where}{param}  {f.rule_id}"
        try:
            load_dast_policy(None).verify(verdict)
        except DastGateFailed as exc:
            yield f"  refused (exit 1): {exc.message}"
        else:
            yield f"  verdict: PASS ({verdict.reason()})"
        ctx.values[f"dast_verdict_{name}"] = verdict
