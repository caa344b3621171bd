"""The floors of the code base read bottom-up: no package imports one above it, no circles.

Every `import` and `from ... import` of every module is read with `ast` (lazy imports inside
functions and `TYPE_CHECKING` blocks included: they are still dependencies), and checked against
the layer each package lives on.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower floor. A module may import its own floor (other packages on it only where
# listed in SIDEWAYS) and any floor below.
FLOORS: dict[str, int] = {
    "ground": 0,
    "simulator": 1,  # a fake AWS beside the floors: it may import the ground only
    "collectors": 1,
    "advisors": 1,
    "profiles": 1,
    "pipeline": 2,
    "tui": 3,
    "sagetop": 4,  # the CLI: the only place that wires everything together
}
# Same-floor imports that are allowed: profiles cite findings (what changes and why).
SIDEWAYS = {("profiles", "advisors")}
# Packages on floor 1 that only the ground may feed: the simulator must not know sagetop's logic.
ONLY_GROUND = {"simulator"}
# The app and its screens know each other (screens call the app's actions): the one circle kept.
ALLOWED_CYCLE = {"tui.app", "tui.screens.endpoint", "tui.screens.fleet", "tui.screens.summary"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in FLOORS:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in known}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) - {name} for name, path in modules.items()}


def test_no_import_runs_up_a_floor() -> None:
    wrong: list[str] = []
    for module, targets in _graph().items():
        top = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other == top:
                continue
            if top in ONLY_GROUND and other != "ground":
                wrong.append(f"{module} -> {target} (the simulator depends on the ground only)")
            elif FLOORS[other] > FLOORS[top] or (
                    FLOORS[other] == FLOORS[top] and (top, other) not in SIDEWAYS):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports up or across a floor:\n" + "\n".join(sorted(wrong))


def test_ground_imports_nothing_of_ours() -> None:
    graph = _graph()
    outside = sorted(f"{m} -> {t}" for m, ts in graph.items() if m.startswith("ground")
                     for t in ts if not t.startswith("ground"))
    assert not outside


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_beyond_the_app_and_its_screens() -> None:
    # Package __init__ files that re-export their modules would make every package a circle
    # with itself; only module-to-module edges count.
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        graph[module] = {t for t in targets if not (ROOT / t.replace(".", "/")).is_dir()}
    circles = [c for c in _cycles(graph) if not c <= ALLOWED_CYCLE]
    assert not circles, "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in circles)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    # The rule itself must be able to fail: an upward edge in a made-up graph is reported.
    graph = {"ground.domain": {"pipeline.analysis"}, "pipeline.analysis": {"ground.domain"}}
    assert _cycles(graph) == [{"ground.domain", "pipeline.analysis"}]
