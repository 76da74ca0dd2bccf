"""waiver; answer.carried_from_id and review.previous_review_id: waivers and re-reviews

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 06:25:35
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

from readiness.domain import lifecycle
from readiness.models import UTCDateTime


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waiver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('control', sa.Text(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('in_force', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint("state IN ('requested', 'granted', 'refused', 'withdrawn')", name=op.f('ck_waiver_state_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_waiver_decided_by_id_user')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_waiver_requested_by_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_waiver_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiver'))
    )
    op.create_index(op.f('ix_waiver_review_id'), 'waiver', ['review_id'], unique=False)
    op.create_index('ix_waiver_state_requested', 'waiver', ['state', 'requested_at', 'id'], unique=False)
    op.create_index('ix_waiver_in_force_expires', 'waiver', ['in_force', 'expires_on', 'id'], unique=False)
    # Plain ADD COLUMNs (no batch copy): the review table's triggers stay as they are.
    op.add_column('answer', sa.Column('carried_from_id', sa.Integer(), nullable=True))
    op.add_column('review', sa.Column('previous_review_id', sa.Integer(), nullable=True))
    op.add_column('service', sa.Column('rereview_from', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_service_rereview', 'service', ['rereview_from', 'name', 'id'], unique=False)
    op.create_index('ix_service_team_rereview', 'service', ['team_id', 'rereview_from'], unique=False)
    _fill(op.get_bind())


# The tables as this migration reads and writes them (a snapshot, not the app's models);
# the moment is decided by the domain's pure rule, as the app decides it. No waiver
# exists yet.
service = sa.table('service', sa.column('id', sa.Integer), sa.column('state', sa.String),
                   sa.column('tier', sa.Integer), sa.column('rereview_from', UTCDateTime))
version = sa.table('checklist_version', sa.column('id', sa.Integer),
                   sa.column('checklist_id', sa.String), sa.column('version', sa.Integer),
                   sa.column('stage', sa.String), sa.column('valid_for_days', sa.Integer),
                   sa.column('content', sa.JSON))
review = sa.table('review', sa.column('id', sa.Integer), sa.column('service_id', sa.Integer),
                  sa.column('checklist_version_id', sa.Integer), sa.column('state', sa.String),
                  sa.column('approved_at', UTCDateTime),
                  sa.column('approved_tier', sa.Integer))


def _fill(connection):
    asking = {}
    for checklist_id, number, content in connection.execute(
            sa.select(version.c.checklist_id, version.c.version, version.c.content)
            .where(version.c.stage == 'launch')):
        if content.get('requires_rereview'):
            asking[checklist_id] = max(number, asking.get(checklist_id, 0))
    latest = {}  # service -> its latest launch approval, by (approved_at, id)
    for row in connection.execute(
            sa.select(review.c.service_id, review.c.approved_at, review.c.approved_tier,
                      version.c.checklist_id, version.c.version, version.c.valid_for_days)
            .join(version, version.c.id == review.c.checklist_version_id)
            .where(review.c.state == 'approved', version.c.stage == 'launch')
            .order_by(review.c.approved_at, review.c.id)):
        latest[row.service_id] = row
    rows = []
    for service_id, state, tier in connection.execute(
            sa.select(service.c.id, service.c.state, service.c.tier)
            .where(service.c.state.in_(('self_managed', 'ops_managed')))):
        approval = latest.get(service_id)
        if approval is None:
            continue
        moment = lifecycle.rereview_from(
            approved_at=approval.approved_at,
            expires_at=(approval.approved_at + timedelta(days=approval.valid_for_days)
                        if approval.valid_for_days is not None else None),
            approved_tier=approval.approved_tier, tier=tier,
            approved_version=approval.version,
            rereview_version=asking.get(approval.checklist_id))
        if moment is not None:
            rows.append({'id_': service_id, 'moment': moment})
    if rows:
        connection.execute(service.update().where(service.c.id == sa.bindparam('id_'))
                           .values(rereview_from=sa.bindparam('moment')), rows)


def downgrade():
    op.drop_index('ix_service_team_rereview', table_name='service')
    op.drop_index('ix_service_rereview', table_name='service')
    op.drop_column('service', 'rereview_from')
    op.drop_column('review', 'previous_review_id')
    op.drop_column('answer', 'carried_from_id')
    op.drop_index('ix_waiver_in_force_expires', table_name='waiver')
    op.drop_index('ix_waiver_state_requested', table_name='waiver')
    op.drop_index(op.f('ix_waiver_review_id'), table_name='waiver')
    op.drop_table('waiver')
