"""Source disclosure: backup copies, VCS metadata and environment files served as text."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from nebsign.dast.checks.interface import ActiveCheck, CheckContext, Hit
from nebsign.dast.model import RequestSpec, Response
from nebsign.findings import Severity

__all__ = ["SourceDisclosure"]

_FIXED = (
    ("/.git/HEAD", re.compile(r"^ref: refs/|^[0-9a-f]{40}\s*$")),
    ("/.git/config", re.compile(r"^\[core\]", re.M)),
    ("/.env", re.compile(r"^[A-Z][A-Z0-9_]*=\S", re.M)),
    ("/.svn/entries", re.compile(r"^(?:\d+\s*$|<\?xml)", re.M)),
)
_SOURCE = re.compile(
    r"(^\s*(?:import \w+|from [\w.]+ import |def \w+\(|class \w+[(:])|<\?php|<%@ ?page)", re.M
)
_GUESSES = ("app.py", "main.py", "wsgi.py", "settings.py", "index.php", "config.php")
_SUFFIXES = (".bak", "~", ".old", ".orig", ".swp")
MAX_PROBES = 60


class SourceDisclosure(ActiveCheck):
    rule_id = "source-disclosure"
    title = "Source code or configuration disclosure"
    severity = Severity.HIGH
    cwe = ("CWE-540", "CWE-527")
    recommendation = "Do not deploy backup files or VCS metadata; serve only a public directory."

    def _hit(self, spec: RequestSpec, resp: Response, what: str) -> Hit:
        return Hit(
            request=spec,
            response=resp,
            parameter=None,
            payload=urlsplit(spec.url).path,
            proof=resp.text[:200],
            message=f"{urlsplit(spec.url).path} is served and contains {what}",
        )

    async def check_site(self, ctx: CheckContext) -> list[Hit]:
        if not ctx.pages:
            return []
        root = ctx.pages[0].url
        hits: list[Hit] = []
        for path, proof in _FIXED:
            spec = RequestSpec("GET", urljoin(root, path))
            resp = await ctx.send(spec)
            if resp is not None and resp.status == 200 and proof.search(resp.text[:4096]):
                hits.append(self._hit(spec, resp, "repository or environment data"))
        candidates: list[str] = []
        for page in ctx.pages:
            path = urlsplit(page.url).path
            if "." in path.rsplit("/", 1)[-1]:
                candidates.extend(path + s for s in _SUFFIXES)
        candidates += ["/" + g + s for g in _GUESSES for s in ("", *_SUFFIXES[:2])]
        for path in list(dict.fromkeys(candidates))[:MAX_PROBES]:
            spec = RequestSpec("GET", urljoin(root, path))
            resp = await ctx.send(spec)
            if (
                resp is not None
                and resp.status == 200
                and not resp.is_html
                and _SOURCE.search(resp.text[:8192])
            ):
                hits.append(self._hit(spec, resp, "source code"))
        return hits
