"""The layout is the architecture (DESIGN.md §3): these contracts keep it true."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "dutystation"
# geographiclib: geodesics are pure computation with no I/O, and DESIGN.md §3 puts geodesy
# in the domain (domain/geodesy.py is the reference the vectorised distances are held to).
DOMAIN_MAY_IMPORT = {"pydantic", "holidays", "geographiclib"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_pydantic_and_holidays(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "dutystation":
            assert name.startswith("dutystation.domain"), f"{path.name} imports {name}"
        else:
            assert top in sys.stdlib_module_names or top in DOMAIN_MAY_IMPORT, (
                f"{path.name} imports {name}"
            )


@pytest.mark.parametrize(
    "folder", ["domain", "ingest", "store", "events", "analytics", "reports", "services"]
)
def test_nothing_below_the_entry_points_imports_them(folder: str) -> None:
    for path in _modules(folder):
        for name in _imports(path):
            assert not name.startswith(("dutystation.cli", "dutystation.api")), (
                f"{path.relative_to(PACKAGE)} imports {name}"
            )


@pytest.mark.parametrize("folder", ["domain", "ingest", "store", "events", "reports"])
def test_inner_layers_do_not_import_services(folder: str) -> None:
    for path in _modules(folder):
        for name in _imports(path):
            assert not name.startswith("dutystation.services"), (
                f"{path.relative_to(PACKAGE)} imports {name}"
            )
