"""security: public ids are never reused (SQLite high-water marks per table)

SQLite gives a new row max(id) + 1, so the id of a deleted newest subscription, user,
comment, collection or API token would go to the next row, and old emailed links and
tokens would name it. store/public_ids.py takes these ids from this table on SQLite
(PostgreSQL sequences never go back; the table exists there too, unused). Seeded with the
current maxima.

Revision ID: 0007_security
Revises: 0004_mail, 0006_rate_limits
"""
from alembic import op

revision = "0007_security"
down_revision = ("0004_mail", "0006_rate_limits")
branch_labels = None
depends_on = None

TABLES = ("subscriptions", "users", "comments", "collections", "api_tokens")


def upgrade() -> None:
    op.execute(
        "CREATE TABLE public_id_sequences ("
        " table_name VARCHAR(64) NOT NULL,"
        " last_id BIGINT NOT NULL,"
        " CONSTRAINT pk_public_id_sequences PRIMARY KEY (table_name))"
    )
    for table in TABLES:
        op.execute(
            f"INSERT INTO public_id_sequences (table_name, last_id) "
            f"SELECT '{table}', coalesce(max(id), 0) FROM {table}"
        )


def downgrade() -> None:
    op.execute("DROP TABLE public_id_sequences")
