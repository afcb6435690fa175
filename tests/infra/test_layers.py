"""The layering, read from the import statements (ast, no import runs): what sits below imports
nothing from what sits above it, and no module of the project reaches itself through its imports.

The flow is receiver -> bucket -> tick -> API: functions/common (config, store, API wrapper) at the
bottom; functions/money and functions/schedule over it; functions/bucket (the stored records) over
money; functions/views (the bucket's objects as views: GET /status and `inspect`) over those; the
handlers (functions/scaler/receiver, functions/scaler/tick, functions/sd) beside each other; the
operator's command (functions/inspect) on top. Every import counts, also one under
`if TYPE_CHECKING:` or inside a function: a cycle that only the type checker sees still ties two
modules into one.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREES = ("functions", "sandbox", "benchmarks", "acceptance", "bootstrap")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project's modules that `name` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import sub` imports the module pkg.sub when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        yield from (t for t in targets if t in known and t != name)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imported(name, path, known)) for name, path in known.items()}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# (layer, what it must not import): the lower layer never reaches up.
FORBIDDEN = [
    ("functions.common", ("functions.money", "functions.schedule", "functions.bucket", "functions.views",
                          "functions.scaler", "functions.sd", "functions.inspect")),
    ("functions.money", ("functions.schedule", "functions.bucket", "functions.views", "functions.scaler",
                         "functions.sd", "functions.inspect")),
    ("functions.schedule", ("functions.money", "functions.bucket", "functions.views", "functions.scaler",
                            "functions.sd", "functions.inspect")),
    # The stored records sit under everything that reads or writes them.
    ("functions.bucket", ("functions.scaler", "functions.views", "functions.sd", "functions.inspect",
                          "functions.schedule")),
    ("functions.views", ("functions.scaler", "functions.sd", "functions.inspect")),
    ("functions.scaler", ("functions.sd", "functions.inspect")),
    # The two processes share only the bucket's records.
    ("functions.scaler.receiver", ("functions.scaler.tick",)),
    ("functions.scaler.tick", ("functions.scaler.receiver", "functions.views")),
    ("functions.sd", ("functions.views", "functions.scaler", "functions.inspect")),
    # The operator's command reads the bucket through the views, never through a handler's modules.
    ("functions.inspect", ("functions.scaler", "functions.sd")),
    # The deployed code stands alone: the harness drives it, never the other way round.
    ("functions", ("sandbox", "benchmarks", "acceptance")),
]


@pytest.mark.parametrize(("layer", "above"), FORBIDDEN, ids=[layer for layer, _ in FORBIDDEN])
def test_a_layer_imports_nothing_above_it(layer: str, above: tuple[str, ...]) -> None:
    wrong = sorted(f"{src} imports {dst}" for src, dsts in graph().items() if within(src, layer)
                   for dst in dsts if any(within(dst, up) for up in above))
    assert wrong == []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_reaches_itself_through_its_imports() -> None:
    assert cycles(graph()) == []


def test_the_scanner_sees_relative_typed_and_local_imports() -> None:
    edges = graph()
    assert "functions.scaler.receiver.payload" in edges["functions.scaler.receiver.server"]  # from . import payload
    assert "functions.common.config" in edges["functions.common.exo"]  # from .config import Config
    assert "sandbox.runner" in edges["sandbox.__main__"]  # inside a function
