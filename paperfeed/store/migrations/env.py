"""Alembic environment: runs on the connection that paperfeed.store.migrate hands in."""

from alembic import context

# Every area's tables live on one MetaData; import them all so that autogenerate compares
# the whole schema (and does not propose dropping the tables of areas it did not see).
import paperfeed.index.schema
import paperfeed.store.community_schema
import paperfeed.store.mail_schema  # noqa: F401
from paperfeed.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
