"""mail: subscriptions, interest vectors, digest send ledger, sent papers, feedback, outbox

Revision ID: 0004_mail
Revises: 0001_core
Create Date: 2026-11-28 05:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_mail'
down_revision = '0001_core'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'subscriptions',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('user_id', ID, nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('frequency', sa.String(length=8), server_default='daily', nullable=False),
        sa.Column('content', sa.String(length=16), server_default='both', nullable=False),
        sa.Column('interests', sa.JSON(), nullable=False),
        sa.Column('authors', sa.JSON(), nullable=False),
        sa.Column('include_categories', sa.JSON(), nullable=False),
        sa.Column('exclude_categories', sa.JSON(), nullable=False),
        sa.Column('muted_keywords', sa.JSON(), nullable=False),
        sa.Column('max_papers', sa.Integer(), server_default='10', nullable=False),
        sa.Column('source', sa.String(length=16), server_default='web', nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
        sa.Column('confirmed_at', TZ, nullable=True),
        sa.Column('unsubscribed_at', TZ, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
        sa.UniqueConstraint('email', name=op.f('uq_subscriptions_email')),
    )
    op.create_index('ix_subscriptions_due', 'subscriptions', ['status', 'frequency', 'id'])
    op.create_index('ix_subscriptions_user_id', 'subscriptions', ['user_id'])
    op.create_table(
        'interest_vectors',
        sa.Column('subscription_id', ID, nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('model_id', sa.String(length=128), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'],
                                name=op.f('fk_interest_vectors_subscription_id_subscriptions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('subscription_id', 'position', name=op.f('pk_interest_vectors')),
    )
    op.create_table(
        'digest_runs',
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('started_at', TZ, nullable=False),
        sa.Column('finished_at', TZ, nullable=True),
        sa.Column('papers', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('period', name=op.f('pk_digest_runs')),
    )
    op.create_table(
        'digest_sends',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('subscription_id', ID, nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('owner', sa.String(length=160), nullable=False),
        sa.Column('claimed_at', TZ, nullable=False),
        sa.Column('sent_at', TZ, nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('paper_ids', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'],
                                name=op.f('fk_digest_sends_subscription_id_subscriptions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
        sa.UniqueConstraint('subscription_id', 'period',
                            name='uq_digest_sends_subscription_period'),
    )
    op.create_index('ix_digest_sends_period_status', 'digest_sends', ['period', 'status'])
    op.create_table(
        'sent_papers',
        sa.Column('subscription_id', ID, nullable=False),
        sa.Column('paper_id', ID, nullable=False),
        sa.Column('sent_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'],
                                name=op.f('fk_sent_papers_subscription_id_subscriptions'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'],
                                name=op.f('fk_sent_papers_paper_id_papers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('subscription_id', 'paper_id', name=op.f('pk_sent_papers')),
    )
    op.create_table(
        'recommendation_feedback',
        sa.Column('subject', sa.String(length=40), nullable=False),
        sa.Column('paper_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'],
                                name=op.f('fk_recommendation_feedback_paper_id_papers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('subject', 'paper_id', name=op.f('pk_recommendation_feedback')),
    )
    op.create_table(
        'mail_outbox',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('context', sa.JSON(), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('sent_at', TZ, nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    )
    op.create_index('ix_mail_outbox_pending', 'mail_outbox', ['sent_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_mail_outbox_pending', table_name='mail_outbox')
    op.drop_table('mail_outbox')
    op.drop_table('recommendation_feedback')
    op.drop_table('sent_papers')
    op.drop_index('ix_digest_sends_period_status', table_name='digest_sends')
    op.drop_table('digest_sends')
    op.drop_table('digest_runs')
    op.drop_table('interest_vectors')
    op.drop_index('ix_subscriptions_user_id', table_name='subscriptions')
    op.drop_index('ix_subscriptions_due', table_name='subscriptions')
    op.drop_table('subscriptions')
