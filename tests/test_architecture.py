"""The package's shape, checked: layers, no import circles, small modules.

Every module of ``nebsign`` belongs to one layer (docs/architecture.md). A module may
import its own layer or a lower one, never a higher one; capabilities (SAST, DAST,
audits, gates, the report, the agent) never import one another, only the core below
them; and no two modules import each other, directly or through others. The imports
are read from the source with ``ast`` (every import, also those inside functions),
so a lazy import cannot hide an arrow.

``KNOWN`` lists the exceptions that exist today, each with the issue that removes it.
The test fails on a new violation *and* on a listed one that is gone, so the list
only ever shrinks and always tells the truth.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nebsign"
MAX_LINES = 500

#: layer of each module, by the longest matching dotted prefix (low number = lower layer)
LAYERS: dict[str, int] = {
    "nebsign": 0,
    "nebsign.errors": 0,
    "nebsign.versioning": 0,
    "nebsign.digest": 0,
    "nebsign._internal": 0,
    "nebsign._internal.fields": 0,  # the validation kit every parser of untrusted input uses
    # the pure core: values, parsers, signatures, policies, verdicts
    "nebsign.checksums": 1,
    "nebsign.manifest": 1,
    "nebsign.tree": 1,
    "nebsign.keys": 1,
    "nebsign.bundle": 1,
    "nebsign.attest": 1,
    "nebsign.findings": 1,
    "nebsign.baseline": 1,
    "nebsign.outcome": 1,
    "nebsign.sarif": 1,
    "nebsign.tlog": 1,
    "nebsign.keyless": 1,
    "nebsign.signing": 1,
    "nebsign.verify": 1,
    "nebsign.policy": 1,
    "nebsign.scancoverage": 1,
    "nebsign.release_check": 1,
    "nebsign.channels": 1,  # channel statement, promotion rules, host [channel] table: pure
    "nebsign.verdict_files": 1,  # a verdict's SARIF, baseline and signed statement, written
    "nebsign.verify_files": 1,  # `nebsign verify`: a FILE's bundles found, read and verified
    # capabilities: siblings, each built on the core only
    "nebsign.sast": 2,
    "nebsign.agent": 2,
    "nebsign.gate": 2,
    "nebsign.audit": 2,
    "nebsign.report": 2,
    "nebsign.dast": 2,
    "nebsign.channels.publish": 2,  # the publisher: writes and signs channel statements
    # orchestration of several capabilities
    "nebsign._demo": 3,
    "nebsign.release": 3,
    # the command line: the only printer
    "nebsign.cli": 4,
    "nebsign.__main__": 4,
}
CAPABILITY = 2

#: (importer, imported) arrows that break the rules today, and the issue that removes each
KNOWN: dict[tuple[str, str], str] = {}
#: import circles that exist today (as sorted module tuples)
KNOWN_CIRCLES: dict[tuple[str, ...], str] = {}
#: modules over MAX_LINES today
KNOWN_LARGE: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.relative_to(PACKAGE).parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [
                f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("nebsign") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> int:
    prefix = module
    while prefix:
        if prefix in LAYERS:
            return LAYERS[prefix]
        prefix = prefix.rpartition(".")[0]
    raise AssertionError(f"{module} has no layer: add it to LAYERS and docs/architecture.md")


def _capability(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _violations(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    found = {}
    for importer, targets in graph.items():
        for target in targets:
            low, high = _layer(importer), _layer(target)
            if high > low:
                found[(importer, target)] = f"layer {low} imports layer {high}"
            elif low == high == CAPABILITY and _capability(importer) != _capability(target):
                found[(importer, target)] = "one capability imports another"
    return found


def _circles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_arrows_point_down_and_capabilities_do_not_import_each_other() -> None:
    found = _violations(_graph())
    new = {arrow: why for arrow, why in found.items() if arrow not in KNOWN}
    assert not new, f"imports against the layers (docs/architecture.md): {new}"
    gone = set(KNOWN) - set(found)
    assert not gone, f"fixed: remove from KNOWN: {gone}"


def test_no_import_circles() -> None:
    found = _circles(_graph())
    assert found - set(KNOWN_CIRCLES) == set(), f"import circles: {found - set(KNOWN_CIRCLES)}"
    gone = set(KNOWN_CIRCLES) - found
    assert not gone, f"fixed: remove from KNOWN_CIRCLES: {gone}"


def test_modules_stay_small() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    large = {name for name, lines in sizes.items() if lines > MAX_LINES}
    assert large - set(KNOWN_LARGE) == set(), {n: sizes[n] for n in large - set(KNOWN_LARGE)}
    assert not set(KNOWN_LARGE) - large, (
        f"fixed: remove from KNOWN_LARGE: {set(KNOWN_LARGE) - large}"
    )


def test_the_checker_sees_what_it_must() -> None:
    """The checker itself can fail: an upward arrow, a sibling arrow and a circle in a
    made-up graph are each reported."""
    graph = {
        "nebsign.digest": {"nebsign.cli.hash"},
        "nebsign.sast.scan": {"nebsign.agent.stage"},
        "nebsign.manifest": {"nebsign.keys"},
        "nebsign.keys": {"nebsign.manifest"},
    }
    found = _violations(graph)
    assert ("nebsign.digest", "nebsign.cli.hash") in found
    assert ("nebsign.sast.scan", "nebsign.agent.stage") in found
    assert ("nebsign.manifest", "nebsign.keys") not in found
    assert _circles(graph) == {("nebsign.keys", "nebsign.manifest")}
