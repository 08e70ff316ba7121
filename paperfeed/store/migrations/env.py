"""Alembic environment: runs on the connection that paperfeed.store.migrate hands in.

It imports no paperfeed module, like the migrations themselves: the history is frozen
literal DDL. The Core schema (store/*_schema.py, index/schema.py) and the migrations are
kept equal by tests/test_migrations_standalone.py (alembic's compare_metadata on a freshly
migrated database, both dialects), so there is no autogenerate target here.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
