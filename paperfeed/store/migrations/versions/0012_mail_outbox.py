"""mail: outbox leases and retry times

Revision ID: 0012_mail_outbox
Revises: 0011_channels

The outbox claimed a row by setting ``sent_at`` before sending, so a crash between the
claim and the SMTP reply lost that message. A claim is now a lease (``claimed_at``): a row
whose lease ran out is delivered again. ``next_attempt_at`` spaces retries (exponential
backoff). ``sent_at`` now means delivered.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_mail_outbox"
down_revision = "0011_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mail_outbox", sa.Column("claimed_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("mail_outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                           nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("claimed_at")
