"""Imports run one way, down the data flow (docs/architecture.md): no import runs back up.

Every ``import`` in the package (module level or inside a function) is read with
``ast``; a module of a floor may import only the floors below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightcomp"

#: floor -> the lightcomp floors it must never import (lower floors know nothing above).
FORBIDDEN: dict[str, set[str]] = {
    # the foundations: plain Python and numpy only
    "quantities": {"*"},
    "constants": {"*"},
    "jsonvalues": {"*"},
    "errors": {"*"},
    "analysis": {
        "store",
        "drivers",
        "station",
        "calibration",
        "coding",
        "reports",
        "api",
        "commands",
        "simlab",
        "cli",
    },
    "store": {
        "coding",
        "analysis",
        "station",
        "calibration",
        "drivers",
        "reports",
        "api",
        "commands",
        "simlab",
        "cli",
    },
    "drivers": {"analysis", "store", "station", "calibration", "reports", "api", "commands"},
    "coding": {"station", "calibration", "reports", "api", "commands", "drivers"},
    "calibration": {"station", "reports", "api", "commands", "simlab", "coding"},
    "station": {"reports", "api", "commands"},  # (station/lab.py starts the simulated lab)
    "reports": {"station", "api", "commands", "drivers", "simlab", "calibration"},
    "api": {"station", "commands", "drivers", "simlab", "calibration"},
}
_FOUNDATIONS_MAY_USE = {"errors"}  # the foundations may raise the project's errors


def _floor(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_floors(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "lightcomp":
                names = [f"lightcomp.{a.name}" for a in node.names]
        for n in names:
            parts = n.split(".")
            if parts[0] == "lightcomp" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


def _check(name: str, floor: str, source: str) -> list[str]:
    rule = FORBIDDEN.get(floor)
    if rule is None:
        return []
    bad = []
    for line, target in _imported_floors(source):
        if target == floor:
            continue
        if ("*" in rule and target not in _FOUNDATIONS_MAY_USE) or target in rule:
            bad.append(f"{name}:{line} imports lightcomp.{target}")
    return bad


def _violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE.parent))
        bad += _check(name, _floor(path), path.read_text(encoding="utf-8"))
    return bad


def test_no_import_runs_back_up():
    assert _violations() == []


@pytest.mark.parametrize(
    ("floor", "source", "target"),
    [
        ("store", "from lightcomp.coding import canonical", "coding"),
        ("analysis", "import lightcomp.store.models", "store"),
        ("store", "from lightcomp import analysis", "analysis"),
    ],
)
def test_the_walker_sees_an_upward_import(floor, source, target):
    found = _check("probe.py", floor, f"def f():\n    {source}\n")
    assert found == [f"probe.py:2 imports lightcomp.{target}"]
