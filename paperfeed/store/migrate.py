"""Create or upgrade a database to the newest schema (idempotent): `paperfeed init`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from .database import write_transaction

HERE = Path(__file__).parent


def alembic_config() -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    return cfg


def upgrade_database(engine: Engine) -> list[str]:
    """Apply every pending migration on ``engine``; returns the revisions now current.

    Running it on an up-to-date database changes nothing. One Alembic history serves both
    SQLite and PostgreSQL; per-area branches (core, search, community, mail) all upgrade.
    """
    cfg = alembic_config()
    with write_transaction(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        return sorted(MigrationContext.configure(conn).get_current_heads())


def pending_revisions(engine: Engine) -> set[str]:
    """Head revisions that the database has not reached yet (empty when up to date)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return heads - current
