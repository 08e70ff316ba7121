"""Migrations are frozen, literal DDL: they import no paperfeed module (issue 10 item 4).

The versions/ directory is not a package, so import-linter cannot see it; this test
parses each migration instead (``ast``, so comments and strings don't count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parent.parent / "paperfeed/store/migrations/versions"
MIGRATIONS = sorted(VERSIONS.glob("*.py"))


def imported_modules(source: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_there_are_migrations() -> None:
    assert len(MIGRATIONS) >= 5


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: p.name)
def test_migration_imports_no_paperfeed_module(path: Path) -> None:
    bad = [
        name
        for name in imported_modules(path.read_text())
        if name.split(".")[0] == "paperfeed" or name.startswith(".")
    ]
    assert bad == [], f"{path.name} imports {bad}"


def test_the_check_sees_imports() -> None:
    source = "import os\nfrom paperfeed.store import x\nfrom . import y\n"
    assert imported_modules(source) == ["os", "paperfeed.store", "."]
