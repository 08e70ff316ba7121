"""Migrations are frozen, literal DDL: they import no paperfeed module (issue 10 item 4).

The versions/ directory is not a package, so import-linter cannot see it; this test
parses each migration instead (``ast``, so comments and strings don't count)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
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


def test_alembic_env_imports_no_paperfeed_module() -> None:
    env = VERSIONS.parent / "env.py"
    bad = [n for n in imported_modules(env.read_text()) if n.split(".")[0] == "paperfeed"]
    assert bad == [], f"env.py imports {bad}"


# Tables the migrations create by hand outside the Core schema: SQLite's FTS5 index of
# papers (a virtual table and its shadow tables, 0002_search).
UNMODELLED = re.compile(r"^papers_fts(_\w+)?$")


def test_core_schema_equals_the_migrated_database(db_url: str) -> None:
    """The frozen migrations and the live SQLAlchemy Core schema describe the same tables,
    columns, types, indexes and foreign keys: a table or column added to one and not the
    other fails here (on each database)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import paperfeed.index
    import paperfeed.store
    from paperfeed.store.database import open_engine
    from paperfeed.store.schema import metadata

    for package in (paperfeed.store, paperfeed.index):  # every module that defines tables
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if not module.ispkg:
                importlib.import_module(module.name)
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()

    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table"
                                    and UNMODELLED.match(d[1].name))]
    assert diff == [], "schema and migrations differ:\n" + "\n".join(map(str, diff))
