"""search index: what tells the in-memory BM25 postings (index/terms.py) that papers' text changed

Revision ID: 0005_terms
Revises: 0002_search
"""
from alembic import op

from paperfeed.index import terms

revision = "0005_terms"
down_revision = "0002_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in terms.POSTGRES_TERMS_DDL if is_postgres else terms.SQLITE_TERMS_DDL:
        op.execute(ddl)


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in terms.POSTGRES_DROP_TERMS_DDL if is_postgres else terms.SQLITE_DROP_TERMS_DDL:
        op.execute(ddl)
