"""The registry of active checks: name -> class. Adding a check is adding a module
and one line here; ``--checks`` and the policy's ``checks`` select by these names."""

from __future__ import annotations

import importlib

from nebsign.dast.checks.interface import ActiveCheck
from nebsign.errors import InputError

__all__ = ["REGISTRY", "load_checks"]

#: rule id -> "module:Class" (imported on use)
REGISTRY: dict[str, str] = {
    "xss-reflected": "xss_reflected:ReflectedXss",
    "xss-stored": "xss_stored:StoredXss",
    "xss-dom": "xss_dom:DomXss",
    "sqli-error": "sqli_error:SqliError",
    "sqli-boolean": "sqli_boolean:SqliBoolean",
    "sqli-union": "sqli_union:SqliUnion",
    "sqli-time": "sqli_time:SqliTime",
    "login-bypass-sqli": "login_bypass:LoginBypass",
    "command-injection": "cmdi:CommandInjection",
    "path-traversal": "traversal:PathTraversal",
    "open-redirect": "redirect:OpenRedirect",
    "crlf-injection": "crlf:CrlfInjection",
    "ssti": "ssti:TemplateInjection",
    "xxe": "xxe:Xxe",
    "xpath-injection": "xpath:XpathInjection",
    "jsonp-callback": "jsonp:JsonpCallback",
    "ssrf": "ssrf:Ssrf",
    "http-parameter-pollution": "hpp:ParameterPollution",
    "source-disclosure": "disclosure:SourceDisclosure",
    "csrf": "csrf:Csrf",
    "cors-reflected-origin": "cors:CorsReflection",
    "unauthenticated-access": "unauth:UnauthenticatedAccess",
}


def load_checks(names: list[str] | tuple[str, ...] | None = None) -> list[ActiveCheck]:
    """Instances of the named checks (all when *names* is None), in registry order."""
    wanted = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise InputError(
            f"unknown DAST check {unknown[0]!r}", hint=f"choose from {', '.join(REGISTRY)}"
        )
    out = []
    for name in REGISTRY:
        if name in wanted:
            module, cls = REGISTRY[name].split(":")
            klass = getattr(importlib.import_module(f"nebsign.dast.checks.{module}"), cls)
            assert klass.rule_id == name
            out.append(klass())
    return out
