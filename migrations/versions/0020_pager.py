"""pager_trial, ops_capacity, gate_override; management_event.ops_hours_estimate and
over_cap_reason; service.ready_from: who carries the pager, measured

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 07:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ops_capacity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Double(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['user.id'], name=op.f('fk_ops_capacity_set_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_capacity'))
    )
    op.create_index(op.f('ix_ops_capacity_set_at'), 'ops_capacity', ['set_at'], unique=False)

    op.create_table('gate_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user.id'], name=op.f('fk_gate_override_granted_by_id_user')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_gate_override_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_override'))
    )
    op.create_index('ix_gate_override_service_expires', 'gate_override', ['service_id', 'expires_at'], unique=False)

    op.create_table('pager_trial',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=False),
    sa.Column('shadow', sa.String(length=200), nullable=False),
    sa.Column('pages_total', sa.Integer(), nullable=False),
    sa.Column('pages_actionable', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('passed', 'failed')", name=op.f('ck_pager_trial_outcome_valid')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_pager_trial_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_pager_trial_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pager_trial'))
    )
    op.create_index('ix_pager_trial_service_ended', 'pager_trial', ['service_id', 'ended_on'], unique=False)

    # Plain ADD COLUMNs (no batch copy): the triggers on these tables stay as they are.
    op.add_column('management_event', sa.Column('ops_hours_estimate', sa.Double(), nullable=True))
    op.add_column('management_event', sa.Column('over_cap_reason', sa.Text(), server_default='', nullable=False))
    op.add_column('service', sa.Column('ready_from', sa.DateTime(timezone=True), nullable=True))
    # A handoff now needs a passed pager trial, and none is recorded yet: no self-managed
    # service waits for an ops lead's acceptance until one is.
    op.execute("UPDATE service SET ready_until = NULL WHERE state = 'self_managed'")
    # A launch waits from its approval: the kept window starts at the latest one.
    op.execute(
        "UPDATE service SET ready_from = ("
        " SELECT max(review.approved_at) FROM review"
        " JOIN checklist_version ON checklist_version.id = review.checklist_version_id"
        " WHERE review.service_id = service.id AND review.state = 'approved'"
        " AND checklist_version.stage = 'launch')"
        " WHERE state = 'development' AND ready_until IS NOT NULL")


def downgrade():
    op.execute('ALTER TABLE service DROP COLUMN ready_from')
    op.execute('ALTER TABLE management_event DROP COLUMN over_cap_reason')
    op.execute('ALTER TABLE management_event DROP COLUMN ops_hours_estimate')
    op.drop_index('ix_pager_trial_service_ended', table_name='pager_trial')
    op.drop_table('pager_trial')
    op.drop_index('ix_gate_override_service_expires', table_name='gate_override')
    op.drop_table('gate_override')
    op.drop_index(op.f('ix_ops_capacity_set_at'), table_name='ops_capacity')
    op.drop_table('ops_capacity')
