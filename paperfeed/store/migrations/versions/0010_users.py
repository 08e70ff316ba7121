"""community: sign-up invites (``paperfeed users invite``)

Revision ID: 0010_users
Revises: 0007_security

``users.disabled`` already exists (0003_community); this adds the invites table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_users"
down_revision = "0007_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invites",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["used_by"], ["users.id"], name=op.f("fk_invites_used_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_invites")),
    )


def downgrade() -> None:
    op.drop_table("invites")
