"""Dependency rules that import-linter cannot express: which single module may import a library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("processor", "devices")

# library -> the only module allowed to import it
OWNERS = {
    "bleak": {"processor/sources/ble.py"},
    "paho": {"processor/sinks/mqtt.py"},
    # the in-process GATT stack behind the emulated wearables (run --emulate, BLE tests)
    "bumble": {"processor/sources/emulated/air.py", "processor/sources/emulated/wearable.py"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_library_is_imported_in_one_module_only(library: str) -> None:
    offenders = {
        str(p.relative_to(ROOT))
        for p in _modules()
        if library in _imports(p) and str(p.relative_to(ROOT)) not in OWNERS[library]
    }
    assert not offenders, f"{library} imported outside {OWNERS[library]}: {sorted(offenders)}"


def test_modules_stay_small() -> None:
    too_big = []
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        limit = 200 if path.parent.name == "devices" and not path.name.startswith("_") else 400
        if path.name in {"__init__.py", "profile.py"}:
            limit = 400
        if lines >= limit:
            too_big.append(f"{path.relative_to(ROOT)}: {lines} lines (limit {limit})")
    assert not too_big, "\n".join(too_big)


def _wakes_blas(tree: ast.AST) -> bool:
    """A matrix product: ``@``, or a call of ``dot``, ``matmul``, ``inner`` or ``tensordot``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.MatMult):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"dot", "matmul", "inner", "tensordot"}
        ):
            return True
    return False


def test_streaming_stages_never_wake_blas_threads() -> None:
    """Their products are tiny; BLAS would wake worker threads that then spin on other cores
    (a 10 min replay used up to 0.1 s of CPU on top of its own 0.15-0.24 s)."""
    stages = sorted((ROOT / "processor" / "stages").rglob("*.py"))
    offenders = [
        str(p.relative_to(ROOT))
        for p in stages
        if _wakes_blas(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not offenders, f"matrix products through BLAS in {offenders}: use np.einsum"
