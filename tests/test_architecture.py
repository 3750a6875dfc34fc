"""Dependencies point one way: core <- runtime <- model <- views.

Walks every module's imports (also those inside functions) with ``ast`` and fails on an
import that points upward, and on an I/O, time or framework import in the pure core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nbsup"

#: Each layer may import its own layer and the layers below it.
LAYERS = {
    "nbsup.core": 0,
    "nbsup.runtime": 1,
    "nbsup.testing": 1,
    "nbsup.eventlog": 1,
    "nbsup.describe": 1,
    "nbsup.analysis": 1,
    "nbsup.config": 1,
    "nbsup.simulation": 2,
    "nbsup.program": 2,
    "nbsup.supervisor": 2,
    "nbsup.defaults": 2,
    "nbsup.control": 2,
    "nbsup.waiters": 1,
    "nbsup.ctl": 3,
    "nbsup.rpc": 3,
    "nbsup.ipython": 4,
    "nbsup.widgets": 4,
}

#: Modules the pure core must never import: no clock, no I/O, no threads, no frameworks.
CORE_FORBIDDEN = {
    "asyncio", "concurrent", "logging", "os", "pathlib", "select", "selectors", "socket",
    "subprocess", "threading", "time", "traitlets", "IPython", "ipywidgets", "pandas",
}  # fmt: skip


def layer_of(module: str) -> int | None:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    found += [f"{target}.{alias.name}" for alias in node.names]
                else:
                    found.append(target)
            elif node.module:
                found.append(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_downward(path: Path) -> None:
    name = module_name(path)
    own = layer_of(name)
    assert own is not None, f"{name} is in no layer: add it to LAYERS"
    for imported in imports_of(path):
        other = layer_of(imported)
        if imported.startswith("nbsup") and other is None and imported != "nbsup":
            pytest.fail(f"{name} imports {imported}, which is in no layer")
        if other is not None:
            assert other <= own, f"{name} (layer {own}) imports {imported} (layer {other})"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: module_name(p)
)
def test_core_is_pure(path: Path) -> None:
    for imported in imports_of(path):
        top = imported.split(".")[0]
        assert top not in CORE_FORBIDDEN, f"{module_name(path)} imports {imported}"
        if top == "nbsup":
            assert imported.startswith("nbsup.core"), f"core imports {imported}"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = PACKAGE / "core" / "_upward_probe.py"
    bad.write_text("from ..runtime import driver\nimport time\n")
    try:
        assert "nbsup.runtime" in imports_of(bad)
        assert layer_of("nbsup.runtime") > layer_of(module_name(bad))  # type: ignore[operator]
        assert "time" in imports_of(bad)
    finally:
        bad.unlink()
