"""Migrations are frozen, literal DDL: they import no paperfeed module (issue 10 item 4).

The versions/ directory is not a package, so import-linter cannot see it; this test
parses each migration instead (``ast``, so comments and strings don't count)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

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


# What the migrations create by hand outside the Core schema, per dialect: the keyword
# search machinery (0002_search, 0005_terms). SQLite: the FTS5 index of papers (a virtual
# table and its shadow tables). PostgreSQL: the generated tsvector column and its GIN
# index, the pgvector HNSW index, and the change log the term-index triggers write.
UNMODELLED_TABLES = {
    "sqlite": re.compile(r"^papers_fts(_\w+)?$"),
    "postgresql": re.compile(r"^papers_text_changes$"),
}
UNMODELLED_COLUMNS = {"postgresql": {("papers", "search_tsv")}}
UNMODELLED_INDEXES = {"postgresql": {"ix_papers_search_tsv", "ix_paper_vectors_embedding_hnsw"}}


def _hand_made(dialect: str, change: Any) -> bool:
    if not isinstance(change, tuple):
        return False
    kind = change[0]
    if kind == "remove_table":
        return bool(UNMODELLED_TABLES[dialect].match(change[1].name))
    if kind == "remove_column":
        return (change[2], change[3].name) in UNMODELLED_COLUMNS.get(dialect, set())
    if kind == "remove_index":
        return change[1].name in UNMODELLED_INDEXES.get(dialect, set())
    return False


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

    diff = [d for d in diff if not _hand_made(engine.dialect.name, d)]
    if engine.dialect.name == "sqlite":
        diff = _sqlite_column_level_fks_checked(engine, diff)
    assert diff == [], "schema and migrations differ:\n" + "\n".join(map(str, diff))


def _fk_key(fk: Any) -> tuple[str, tuple[str, ...], str, tuple[str, ...]]:
    return (fk.table.name, tuple(c.name for c in fk.columns), fk.referred_table.name,
            tuple(e.column.name for e in fk.elements))


def _sqlite_column_level_fks_checked(engine: Any, diff: list[Any]) -> list[Any]:
    """SQLAlchemy reflects a SQLite foreign key's name and ON DELETE only from table-level
    ``FOREIGN KEY (...)`` clauses, not from the column-level ``REFERENCES`` that
    ``ALTER TABLE ... ADD COLUMN`` must use: such a key shows up as a removed unnamed key
    plus an added named one. Pair those up and check what SQLite really enforces
    (``PRAGMA foreign_key_list``: same columns, same target, same ON DELETE) instead."""
    removed = {_fk_key(d[1]): d for d in diff if isinstance(d, tuple) and d[0] == "remove_fk"}
    added = {_fk_key(d[1]): d for d in diff if isinstance(d, tuple) and d[0] == "add_fk"}
    paired = removed.keys() & added.keys()
    with engine.connect() as conn:
        for key in paired:
            table, columns, target, target_columns = key
            rows = conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})").all()
            enforced = {(r.table, r._mapping["from"], r._mapping["to"], r.on_delete)
                        for r in rows}
            wanted = (added[key][1].ondelete or "NO ACTION").upper()
            assert (target, columns[0], target_columns[0], wanted) in enforced, (key, enforced)
    return [d for d in diff if not (isinstance(d, tuple) and d[0] in ("remove_fk", "add_fk")
                                    and _fk_key(d[1]) in paired)]
