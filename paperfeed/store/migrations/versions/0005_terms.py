"""search index: what tells the in-memory BM25 postings (index/terms.py) that papers' text changed

Revision ID: 0005_terms
Revises: 0002_search
"""
from alembic import op

revision = "0005_terms"
down_revision = "0002_search"
branch_labels = None
depends_on = None

# Dialect DDL frozen as it was when this revision was written. SQLite has one writer at a
# time and gives new papers larger ids, so a counter (index_state row 'papers_text') moved
# by text updates and deletes, plus max(id), is enough. PostgreSQL commits concurrent
# transactions in any order and a shared counter row would serialise (and could deadlock)
# writers, so each statement that inserts, deletes or rewrites papers' text appends a row
# to a log; the stamp counts the committed rows.
SQLITE_TERMS = [
    "INSERT OR IGNORE INTO index_state(name, generation) VALUES ('papers_text', 0)",
    """CREATE TRIGGER IF NOT EXISTS papers_text_gen_u AFTER UPDATE OF title, abstract, authors_text ON papers
        BEGIN
            UPDATE index_state SET generation = generation + 1
            WHERE name = 'papers_text';
        END""",
    """CREATE TRIGGER IF NOT EXISTS papers_text_gen_d AFTER DELETE ON papers
        BEGIN
            UPDATE index_state SET generation = generation + 1
            WHERE name = 'papers_text';
        END""",
]
SQLITE_DROP_TERMS = [
    "DROP TRIGGER IF EXISTS papers_text_gen_u",
    "DROP TRIGGER IF EXISTS papers_text_gen_d",
    "DELETE FROM index_state WHERE name = 'papers_text'",
]
POSTGRES_TERMS = [
    """CREATE TABLE IF NOT EXISTS papers_text_changes (
        id bigserial PRIMARY KEY,
        changed_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE OR REPLACE FUNCTION papers_text_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO papers_text_changes DEFAULT VALUES;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER papers_text_changed
        AFTER INSERT OR DELETE OR UPDATE OF title, abstract, authors_text ON papers
        FOR EACH STATEMENT EXECUTE FUNCTION papers_text_changed()""",
]
POSTGRES_DROP_TERMS = [
    "DROP TRIGGER IF EXISTS papers_text_changed ON papers",
    "DROP FUNCTION IF EXISTS papers_text_changed()",
    "DROP TABLE IF EXISTS papers_text_changes",
]


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in POSTGRES_TERMS if is_postgres else SQLITE_TERMS:
        op.execute(ddl)


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in POSTGRES_DROP_TERMS if is_postgres else SQLITE_DROP_TERMS:
        op.execute(ddl)
