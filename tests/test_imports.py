"""The imports between switchboard's modules form a DAG: no module needs, even for its
types or inside a function, a module that needs it back.

Every import counts: at module level, under `TYPE_CHECKING`, and inside functions,
`from package import submodule` as that submodule. A function-level import may close
a circle only where it is in `LAZY_ON_PURPOSE`, with the reason it must stay lazy.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "switchboard"

# (importer, imported): why the import is made inside a function, although it closes a circle.
LAZY_ON_PURPOSE = {
    (
        "switchboard.memory.warm",
        "switchboard.memory.service",
    ): "the warm server's side; the socket client must not import numpy/torch (issue 10 owns the split)",
    (
        "switchboard.memory.warm",
        "switchboard.memory.embedservice",
    ): "starting the embedding service, only when no service answers (issue 10 owns the split)",
    (
        "switchboard.memory.embedservice",
        "switchboard.memory.warm",
    ): "waiting for the service to listen, only when it was just started (issue 10 owns the split)",
    (
        "switchboard.runners.service",
        "switchboard.runners.attempt",
    ): "`Runners.run` composes an `Attempt`, which drives this service; the loop imports attempt directly",
}

Edges = dict[str, dict[str, tuple[str, int]]]  # importer -> imported -> (kind, line)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["switchboard", *path.relative_to(PACKAGE).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def _imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str, int]]:
    """What module `name` imports from switchboard: (module, kind, line), kind module, typing or lazy."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str, int]] = []

    def resolve(module: str) -> str | None:
        while module and module not in known:
            module = module.rpartition(".")[0]
        return module or None

    def add(target: str | None, kind: str, line: int) -> None:
        if target is None or target == name:
            return
        found.append((target, kind, line))
        # Importing a.b.c runs a/b/__init__.py first, unless the importer is inside a.b.
        parent = target.rpartition(".")[0]
        if parent != "switchboard" and parent in known and not name.startswith(parent + "."):
            found.append((parent, kind, line))

    def visit(node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.body:
                visit(child, "typing")
            for child in node.orelse:
                visit(child, kind)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            kind = "lazy"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("switchboard"):
                    add(resolve(alias.name), kind, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([node.module] if node.module else [])
                )
                if node.level
                else node.module or ""
            )
            if base.startswith("switchboard"):
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    add(submodule if submodule in known else resolve(base), kind, node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, kind)

    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        visit(node, "module")
    return found


def import_graph() -> Edges:
    known = modules()
    graph: Edges = {name: {} for name in known}
    for name, path in known.items():
        for target, kind, line in _imports(name, path, known):
            graph[name].setdefault(target, (kind, line))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
    ids=["dag", "pair", "triangle-with-tail", "two-circles"],
)
def test_circles_are_found(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_switchboard_imports_form_a_dag() -> None:
    graph = import_graph()
    kept = {
        importer: {
            target
            for target, (kind, _) in targets.items()
            if not (kind == "lazy" and (importer, target) in LAZY_ON_PURPOSE)
        }
        for importer, targets in graph.items()
    }
    report = []
    for component in cycles(kept):
        report.append(" <-> ".join(component))
        report += [
            f"    {importer} imports {target} ({graph[importer][target][0]}, line {graph[importer][target][1]})"
            for importer in component
            for target in sorted(kept[importer])
            if target in component
        ]
    assert not report, "import circles:\n" + "\n".join(report)


@pytest.mark.parametrize(("importer", "target"), sorted(LAZY_ON_PURPOSE))
def test_each_allowed_lazy_import_is_still_made_lazily(importer: str, target: str) -> None:
    kind, _line = import_graph()[importer].get(target, ("absent", 0))
    assert kind == "lazy", f"{importer} -> {target} is {kind}: drop it from LAZY_ON_PURPOSE"


# Modules that make up the command line: they sit above every part and may import any.
CLI_MODULES = {"cli", "cliopts", "entry", "roothelp", "__main__"}
# The parts that build on others; `store` and `opencode`, at the bottom, import none of them.
UPPER_PARTS = {"compat", "coordinator", "hooks", "mailbox", "mcp", "memory", "runners", "web", "workspaces"}


def part(module: str) -> str:
    """The part a module belongs to: its package under switchboard (`switchboard.memory.warm`
    is `memory`), a top-level helper module itself (`config`), or `cli` for the command line."""
    names = module.split(".")[1:]
    if names and (names[-1] in CLI_MODULES or names[-1].endswith("_cli")):
        return "cli"
    return names[0] if names else "switchboard"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("switchboard.memory.warm", "memory"),
        ("switchboard.memory", "memory"),
        ("switchboard.memory.cli", "cli"),
        ("switchboard.coordinator.task_cli", "cli"),
        ("switchboard.cli", "cli"),
        ("switchboard.cliopts", "cli"),
        ("switchboard.entry", "cli"),
        ("switchboard.config", "config"),
        ("switchboard", "switchboard"),
    ],
)
def test_each_module_has_one_part(module: str, expected: str) -> None:
    assert part(module) == expected


def _part_edges() -> dict[tuple[str, str], list[str]]:
    """(importer part, imported part) -> the module imports that make that edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for importer, targets in import_graph().items():
        for target, (kind, line) in targets.items():
            if part(importer) != part(target):
                edges.setdefault((part(importer), part(target)), []).append(
                    f"{importer} imports {target} ({kind}, line {line})"
                )
    return edges


def test_parts_form_a_dag_below_the_cli() -> None:
    edges = _part_edges()
    graph: dict[str, set[str]] = {}
    for importer, target in edges:
        graph.setdefault(importer, set()).add(target)
    report = []
    for component in cycles(graph):
        report.append(" <-> ".join(component))
        report += [
            f"    {why}" for (a, b), whys in sorted(edges.items()) if a in component and b in component for why in whys
        ]
    assert not report, "circles between parts:\n" + "\n".join(report)
    assert not any(target == "cli" for _, target in edges), "a part imports the command line"


@pytest.mark.parametrize("bottom", ["store", "opencode"])
def test_the_bottom_parts_import_no_part_above_them(bottom: str) -> None:
    above = [why for (a, b), whys in sorted(_part_edges().items()) if a == bottom and b in UPPER_PARTS for why in whys]
    assert not above, "\n".join(above)
