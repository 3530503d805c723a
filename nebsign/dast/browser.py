"""Confirm XSS candidates in headless Chromium: count only payloads that actually run.

Playwright's Python package drives the system Chromium (``/usr/bin/chromium``,
``$NEBSIGN_CHROMIUM`` or ``chromium`` on PATH); no browser is downloaded.
Every request the browser makes passes the scan's scope check (others are
aborted). A reflected candidate is rendered from the exact response the probe
got (no request is re-sent); DOM and stored candidates are loaded from the
application. An init script defines the payload's marker function; the
candidate is confirmed if the page calls it (on load, autofocus, or after
clicking ``javascript:`` links and hovering handlers nebsign injected).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from nebsign.dast.checks.interface import ActiveCheck, Hit
from nebsign.dast.scope import Scope
from nebsign.errors import EnvironmentFault

__all__ = ["chromium_path", "confirm_xss"]

_WAIT_MS = 400
_NAV_TIMEOUT_MS = 10_000


def chromium_path() -> str:
    """The system Chromium; :class:`EnvironmentFault` if there is none."""
    for candidate in (
        os.environ.get("NEBSIGN_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise EnvironmentFault(
        "--browser needs Chromium and none was found",
        hint="install Debian's chromium (scripts/ensure-chromium.sh) or set NEBSIGN_CHROMIUM",
    )


async def confirm_xss(
    hits: list[tuple[ActiveCheck, Hit]], scope: Scope
) -> tuple[list[tuple[ActiveCheck, Hit]], dict[str, Any]]:
    """Keep non-XSS hits; keep XSS hits only if their payload ran in Chromium."""
    candidates = [(c, h) for c, h in hits if c.xss and "xss_token" in h.properties]
    if not candidates:
        return hits, {"candidates": 0, "confirmed": 0, "refuted": []}
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise EnvironmentFault(
            "--browser needs the playwright package", hint="pip install 'nebsign[dast]'"
        ) from exc
    executable = chromium_path()
    confirmed: set[int] = set()
    refuted: list[str] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=executable,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                for check, hit in candidates:
                    if await _runs(browser, hit, scope):
                        confirmed.add(id(hit))
                    else:
                        refuted.append(f"{check.rule_id} {hit.request.method} {hit.request.url}")
            finally:
                await browser.close()
    except PlaywrightError as exc:
        raise EnvironmentFault(
            f"Chromium could not be driven: {str(exc).splitlines()[0][:200]}"
        ) from exc
    out = []
    for check, hit in hits:
        if check.xss and "xss_token" in hit.properties:
            if id(hit) not in confirmed:
                continue
            from dataclasses import replace

            hit = replace(hit, properties={**hit.properties, "browser_confirmed": True})
        out.append((check, hit))
    info = {"candidates": len(candidates), "confirmed": len(confirmed), "refuted": refuted}
    return out, info


async def _runs(browser: Any, hit: Hit, scope: Scope) -> bool:
    tok = str(hit.properties["xss_token"])
    context = await browser.new_context(java_script_enabled=True)
    try:
        await context.add_init_script(
            f"window.__nbs=[];window[{tok!r}]=function(){{window.__nbs.push({tok!r})}};"
        )
        page = await context.new_page()
        if hit.properties.get("dom"):
            url = hit.request.url
            served = None
        elif "shown_on" in hit.properties:
            url = str(hit.properties["shown_on"])
            served = None
        else:
            url = hit.request.full_url()
            served = hit.response
        first = {"pending": served is not None}

        async def route(r: Any) -> None:
            req = r.request
            if first["pending"] and req.is_navigation_request() and served is not None:
                first["pending"] = False
                headers = {k: v for k, v in served.headers if k.lower() != "content-length"}
                await r.fulfill(status=served.status or 200, headers=headers, body=served.body)
            elif scope.allows(req.method, req.url.split("#")[0]):
                await r.continue_()
            else:
                await r.abort()

        await context.route("**/*", route)
        try:
            await page.goto(url, timeout=_NAV_TIMEOUT_MS, wait_until="load")
        except Exception:  # noqa: BLE001 - a page that fails to load did not run the payload
            return False
        await page.wait_for_timeout(_WAIT_MS)
        if not await _hit(page, tok):
            for selector in (f'[href*="{tok}"]', f'[onmouseover*="{tok}"]', f'[onclick*="{tok}"]'):
                for element in await page.query_selector_all(selector):
                    try:
                        await element.hover(timeout=1000)
                        await element.click(timeout=1000)
                    except Exception:  # noqa: BLE001, S112 - hidden or detached elements
                        continue
            await page.wait_for_timeout(_WAIT_MS)
        return await _hit(page, tok)
    finally:
        await context.close()


async def _hit(page: Any, tok: str) -> bool:
    try:
        seen = await page.evaluate("window.__nbs || []")
    except Exception:  # noqa: BLE001 - a navigated-away page
        return False
    return isinstance(seen, list) and tok in seen
