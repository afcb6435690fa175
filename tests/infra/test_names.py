"""No two classes of the project share a name, so a name read in a test, a log or a traceback says
which class it is (ast over every class statement, nested ones included)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ("functions", "sandbox", "benchmarks", "acceptance", "bootstrap")


def classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef):
                    found[node.name].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_two_classes_share_a_name() -> None:
    shared = {name: places for name, places in classes().items() if len(places) > 1}
    assert shared == {}
