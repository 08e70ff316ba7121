"""follows: one table of followed authors, categories and saved searches; read state

Revision ID: 0016_follows
Revises: 0010_users

The digest form's interests, followed authors and "only these categories" move out of
``subscriptions`` into ``follows`` (kind search / author / category), owned by an account
when the subscription is linked to one, else by the subscription. ``seen_papers`` holds
the papers a signed-in user opened, voted on or dismissed (one row per user and paper,
nothing for anonymous visitors); ``users`` gains the visit marks and the theme choice.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_follows"
down_revision = "0010_users"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (kind, old subscriptions column) carried over by the data migration.
MOVED = (("search", "interests"), ("author", "authors"), ("category", "include_categories"))

# One row per (owner, kind, value): the account when the subscription's user exists,
# otherwise the subscription. Earliest subscription update as the follow's date.
SQLITE_COPY = """
INSERT INTO follows (user_id, subscription_id, kind, value, filters, created_at)
SELECT u.id, CASE WHEN u.id IS NULL THEN s.id END, '{kind}', trim(j.value), '{{}}',
       min(s.updated_at)
FROM subscriptions AS s
JOIN json_each(s.{column}) AS j
LEFT JOIN users AS u ON u.id = s.user_id
WHERE trim(j.value) <> ''
GROUP BY u.id, CASE WHEN u.id IS NULL THEN s.id END, trim(j.value)
"""

POSTGRES_COPY = """
INSERT INTO follows (user_id, subscription_id, kind, value, filters, created_at)
SELECT u.id, CASE WHEN u.id IS NULL THEN s.id END, '{kind}', trim(j.value), '{{}}'::json,
       min(s.updated_at)
FROM subscriptions AS s
CROSS JOIN LATERAL json_array_elements_text(s.{column}) AS j(value)
LEFT JOIN users AS u ON u.id = s.user_id
WHERE trim(j.value) <> ''
GROUP BY u.id, CASE WHEN u.id IS NULL THEN s.id END, trim(j.value)
"""

# Downgrade: the follows back into the JSON columns (of the subscription, or of every
# subscription linked to the owning account).
SQLITE_BACK = """
UPDATE subscriptions SET {column} = coalesce((
  SELECT json_group_array(f.value) FROM follows AS f
  WHERE f.kind = '{kind}'
    AND (f.subscription_id = subscriptions.id OR f.user_id = subscriptions.user_id)
), '[]')
"""

POSTGRES_BACK = """
UPDATE subscriptions SET {column} = coalesce((
  SELECT json_agg(f.value ORDER BY f.id) FROM follows AS f
  WHERE f.kind = '{kind}'
    AND (f.subscription_id = subscriptions.id OR f.user_id = subscriptions.user_id)
), '[]'::json)
"""


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                               name="fk_follows_user_id_users")),
        sa.Column("subscription_id", ID,
                  sa.ForeignKey("subscriptions.id", ondelete="CASCADE",
                                name="fk_follows_subscription_id_subscriptions")),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("(user_id IS NULL) <> (subscription_id IS NULL)",
                           name="ck_follows_one_owner"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_follows_user_id", "follows", ["user_id", "kind"])
    op.create_index("ix_follows_subscription_id", "follows", ["subscription_id", "kind"])
    op.create_table(
        "seen_papers",
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                               name="fk_seen_papers_user_id_users"),
                  primary_key=True),
        sa.Column("paper_id", ID, sa.ForeignKey("papers.id", ondelete="CASCADE",
                                                name="fk_seen_papers_paper_id_papers"),
                  primary_key=True),
        sa.Column("seen_at", TZ, nullable=False),
    )
    op.add_column("users", sa.Column("last_visit_at", TZ))
    op.add_column("users", sa.Column("active_at", TZ))
    op.add_column("users", sa.Column("theme", sa.String(length=8), nullable=False,
                                     server_default=""))
    template = POSTGRES_COPY if op.get_bind().dialect.name == "postgresql" else SQLITE_COPY
    for kind, column in MOVED:
        op.execute(template.format(kind=kind, column=column))
    for _, column in MOVED:
        op.execute(f"ALTER TABLE subscriptions DROP COLUMN {column}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for kind, column in MOVED:
        op.add_column("subscriptions", sa.Column(column, sa.JSON(), nullable=False,
                                                 server_default="[]"))
        op.execute((POSTGRES_BACK if postgres else SQLITE_BACK).format(kind=kind, column=column))
    for column in ("theme", "active_at", "last_visit_at"):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
    op.drop_table("seen_papers")
    op.drop_index("ix_follows_subscription_id", table_name="follows")
    op.drop_index("ix_follows_user_id", table_name="follows")
    op.drop_table("follows")
