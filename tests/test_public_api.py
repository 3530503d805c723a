"""The public surface, checked: what users import is declared, everything else is
declared internal, and docs/architecture.md says the same as the code.

docs/architecture.md is the one place that names the public modules and the internal
ones, and holds the layer table; this test reads it. Every module of ``nebsign`` must be
public (exactly) or lie under an internal name; a public module's API is its
``__all__``, which must exist and name only what the module defines or imports.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys

import pytest
from test_architecture import LAYERS, PACKAGE, _modules

DOC = (PACKAGE.parent / "docs" / "architecture.md").read_text()


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([A-Za-z0-9_.]+)`", text)


def _paragraph(label: str) -> str:
    match = re.search(rf"^{label}:(.*?)(?:\n\n|\Z)", DOC, re.S | re.M)
    assert match, f"docs/architecture.md has no '{label}:' paragraph"
    return match.group(1)


def _public() -> list[str]:
    names = _ticked(_paragraph("Public"))
    return ["nebsign" if n == "nebsign" else f"nebsign.{n}" for n in names if n != "__version__"]


def _internal() -> list[str]:
    return [f"nebsign.{n}" for n in _ticked(_paragraph("Internal"))]


def _doc_layers() -> dict[str, int]:
    found: dict[str, int] = {}
    for row in re.findall(r"^\| (\d) \| ([^|]*) \|", DOC, re.M):
        for name in _ticked(row[1]):
            assert f"nebsign.{name}" not in found, f"{name} is in two rows of the layer table"
            found[f"nebsign.{name}"] = int(row[0])
    return found


def test_the_layer_table_in_the_docs_is_the_one_the_architecture_test_uses() -> None:
    code = {name: layer for name, layer in LAYERS.items() if name != "nebsign"}
    docs = _doc_layers()
    assert docs == code, {
        "in LAYERS, not in the docs' table (or at another layer)": set(code.items())
        - set(docs.items()),
        "in the docs' table only": set(docs.items()) - set(code.items()),
    }


def test_every_module_is_declared_public_or_internal_once() -> None:
    public, internal = set(_public()), _internal()
    undeclared, twice = [], []
    for module in sorted(_modules()):
        under = [n for n in internal if module == n or module.startswith(n + ".")]
        if module in public and under:
            twice.append(module)
        elif module not in public and not under:
            undeclared.append(module)
    assert not undeclared, (
        f"declare these in docs/architecture.md (Public API: public or internal): {undeclared}"
    )
    assert not twice, f"both public and under an internal name: {twice}"
    for name in [*public, *internal]:
        rel = PACKAGE.parent / name.replace(".", "/")
        exists = rel.is_dir() or any(rel.with_suffix(s).is_file() for s in (".py", ".pyi"))
        assert exists, f"docs/architecture.md names {name}, which does not exist"


def _static_all(module: str) -> list[str]:
    path = _modules()[module]
    for node in ast.parse(path.read_text()).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)  # type: ignore[arg-type]
            assert isinstance(value, list | tuple), module
            return list(value)
    raise AssertionError(f"public module {module} has no __all__")


@pytest.mark.parametrize("module", _public())
def test_a_public_module_declares_its_api_in_all(module: str) -> None:
    names = _static_all(module)
    assert names, f"{module}: an empty __all__ in a public module"
    assert len(names) == len(set(names)), f"{module}: __all__ repeats a name"
    private = [n for n in names if n.startswith("_") and n != "__version__"]
    assert not private, f"{module}: private names in __all__: {private}"
    loaded = importlib.import_module(module)
    missing = [n for n in names if not hasattr(loaded, n)]
    assert not missing, f"{module}: __all__ names what it does not define: {missing}"


def test_importing_the_public_api_loads_no_build_server_or_heavy_package() -> None:
    """A host's Python that imports the whole public API pays for none of the extras,
    and not for sigstore or rich either (imported only when a keyless bundle or a
    progress bar needs them)."""
    heavy = ["bandit", "semgrep", "yaml", "jinja2", "markdown_it", "scipy", "prometheus_client",
             "slither", "httpx", "playwright", "sigstore", "rich", "click"]  # fmt: skip
    code = (
        "import importlib, sys\n"
        f"for m in {_public()!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out


def test_the_checks_here_can_fail() -> None:
    """The doc parsers find what they must (a changed doc would otherwise pass vacuously)."""
    assert "nebsign.verify" in _public() and "nebsign.policy.trust" in _public()
    assert "nebsign.cli" in _internal() and "nebsign.sast" in _internal()
    assert _doc_layers()["nebsign.cli"] == 4 and _doc_layers()["nebsign._internal"] == 0
    with pytest.raises(AssertionError, match="has no __all__"):
        _static_all("nebsign.cli.hash")
