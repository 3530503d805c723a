"""Optional extras: which command needs which, and the one error when one is missing.

``pip install nebsign`` is the core a production host needs (hash, manifest, keys,
sign, verify, the agent). The build-server parts come as extras (``pyproject.toml``,
docs/adr/0017): ``scan`` (bandit, semgrep, the DAST engine), ``gates``, ``audit``,
``report``, and ``build`` for all of them. A command that needs one says so before it
does anything: :class:`ExtraMissing` (exit 3) with the exact ``pip install`` line.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from nebsign.errors import EnvironmentFault

__all__ = [
    "COMPOSITE",
    "EXTRAS",
    "ExtraMissing",
    "import_from_extra",
    "install_line",
    "missing_from_extra",
    "require_extra",
]

#: extra -> {top-level module nebsign needs from it: the distribution that brings it}.
#: Keep in step with ``[project.optional-dependencies]`` (tests/extras/test_extras.py checks).
EXTRAS: dict[str, dict[str, str]] = {
    "scan": {"bandit": "bandit", "semgrep": "semgrep", "yaml": "PyYAML"},
    "dast": {"httpx": "httpx"},
    "gates": {"scipy": "scipy", "prometheus_client": "prometheus_client"},
    "audit": {"slither": "slither-analyzer"},
    "report": {"jinja2": "jinja2", "markdown_it": "markdown-it-py"},
}
#: extras made of others (``build`` is everything a build server runs)
COMPOSITE: dict[str, tuple[str, ...]] = {
    "build": ("scan", "dast", "gates", "audit", "report"),
}


class ExtraMissing(EnvironmentFault):
    """A command needs an optional extra that is not installed."""

    reason = "missing-extra"


def install_line(extra: str) -> str:
    """What to run: ``pip install 'nebsign[EXTRA]'``."""
    _modules(extra)  # an unknown extra is a bug here, not a line to print
    return f"pip install 'nebsign[{extra}]'"


def _modules(extra: str) -> dict[str, str]:
    if extra in EXTRAS:
        return EXTRAS[extra]
    if extra in COMPOSITE:
        return {m: d for part in COMPOSITE[extra] for m, d in EXTRAS[part].items()}
    raise KeyError(f"no such extra: {extra!r}")


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent, or sys.modules[name] is None
        return False


def missing_from_extra(extra: str) -> list[str]:
    """Distributions of *extra* whose modules cannot be found (nothing is imported)."""
    return [dist for module, dist in _modules(extra).items() if not _findable(module)]


def _error(extra: str, what: str, missing: list[str], why: str = "") -> ExtraMissing:
    return ExtraMissing(
        f"{what} needs nebsign's {extra!r} extra; not installed: {', '.join(missing)}{why}",
        hint=install_line(extra),
    )


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`ExtraMissing` for *what* (e.g. ``nebsign scan sast``) unless every
    module *extra* brings can be found. Cheap: modules are located, not imported."""
    missing = missing_from_extra(extra)
    if missing:
        raise _error(extra, what, missing)


def import_from_extra(module: str, extra: str, what: str) -> ModuleType:
    """Import *module* (from *extra*); an install that cannot import is :class:`ExtraMissing`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        why = f" ({type(exc).__name__}: {exc})" if _findable(top) else ""
        raise _error(extra, what, [_modules(extra).get(top, top)], why) from exc
