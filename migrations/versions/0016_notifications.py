"""subscription, delivery, delivery_count, reminder_sent, worker_schedule, event_cursor:
notifications from the record

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('target', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('since_seq', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=300), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('webhook', 'slack', 'email')", name=op.f('ck_subscription_kind_valid')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_subscription_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription'))
    )
    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'delivered', 'failed', 'cancelled')", name=op.f('ck_delivery_state_valid')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_delivery_subscription_id_subscription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('message_id', name=op.f('uq_delivery_message_id'))
    )
    op.create_index('ix_delivery_subscription_state_id', 'delivery', ['subscription_id', 'state', 'id'], unique=False)
    op.create_index('ix_delivery_state_next', 'delivery', ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_delivery_subscription_id', 'delivery', ['subscription_id', 'id'], unique=False)
    op.create_table('delivery_count',
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('outcome', name=op.f('pk_delivery_count'))
    )
    op.create_table('reminder_sent',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_reminder_sent'))
    )
    op.create_table('worker_schedule',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_schedule'))
    )
    op.create_table('event_cursor',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_event_cursor'))
    )
    # The worker starts from the record's end: entries before any subscription go nowhere.
    op.execute("INSERT INTO event_cursor (name, seq) "
               "SELECT 'deliveries', COALESCE(MAX(seq), 0) FROM audit_entry")


def downgrade():
    op.drop_table('event_cursor')
    op.drop_table('delivery_count')
    op.drop_table('worker_schedule')
    op.drop_table('reminder_sent')
    op.drop_index('ix_delivery_subscription_id', table_name='delivery')
    op.drop_index('ix_delivery_state_next', table_name='delivery')
    op.drop_index('ix_delivery_subscription_state_id', table_name='delivery')
    op.drop_table('delivery')
    op.drop_table('subscription')
