"""the ops lead's worklists kept on each service: service.handback_failing_from and
service.ready_until (readiness.commands.worklists), filled for the services there

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:30:00
"""
from alembic import op
import sqlalchemy as sa

from readiness.domain import checklists, lifecycle
from readiness.models import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The tables as this migration reads and writes them (a snapshot, not the app's models);
# the moments are decided by the domain's pure rules, as the app decides them.
service = sa.table('service', sa.column('id', sa.Integer), sa.column('state', sa.String),
                   sa.column('handback_failing_from', UTCDateTime),
                   sa.column('ready_until', UTCDateTime))
version = sa.table('checklist_version', sa.column('id', sa.Integer),
                   sa.column('checklist_id', sa.String), sa.column('version', sa.Integer),
                   sa.column('stage', sa.String), sa.column('valid_for_days', sa.Integer),
                   sa.column('content', sa.JSON))
review = sa.table('review', sa.column('id', sa.Integer), sa.column('service_id', sa.Integer),
                  sa.column('checklist_version_id', sa.Integer), sa.column('state', sa.String),
                  sa.column('created_at', UTCDateTime), sa.column('approved_at', UTCDateTime))
event = sa.table('management_event', sa.column('service_id', sa.Integer),
                 sa.column('kind', sa.String), sa.column('created_at', UTCDateTime))
latest_fact = sa.table('latest_fact', sa.column('service_id', sa.Integer),
                       sa.column('name', sa.String), sa.column('value', sa.Float),
                       sa.column('observed_at', UTCDateTime))


def upgrade():
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handback_failing_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ready_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_service_handback_failing', ['state', 'handback_failing_from', 'name'], unique=False)
        batch_op.create_index('ix_service_ready', ['state', 'ready_until', 'name'], unique=False)
    _fill(op.get_bind())


def _fill(connection):
    newest = (sa.select(version.c.checklist_id, sa.func.max(version.c.version).label('v'))
              .where(version.c.stage == 'handback').group_by(version.c.checklist_id).subquery())
    contents = connection.scalars(sa.select(version.c.content).join(
        newest, (newest.c.checklist_id == version.c.checklist_id)
        & (newest.c.v == version.c.version))).all()
    checks = checklists.required_checks(contents)
    approvals = {}  # (service, stage) -> its latest approval, by (approved_at, id)
    for service_id, stage, *row in connection.execute(
            sa.select(review.c.service_id, version.c.stage, review.c.id, review.c.created_at,
                      review.c.approved_at, version.c.valid_for_days)
            .join(version, version.c.id == review.c.checklist_version_id)
            .where(review.c.state == 'approved', version.c.stage.in_(('launch', 'handoff')))
            .order_by(review.c.approved_at, review.c.id)):
        approvals[service_id, stage] = lifecycle.Approval(*row)
    handbacks = dict(connection.execute(
        sa.select(event.c.service_id, sa.func.max(event.c.created_at))
        .where(event.c.kind == 'handback').group_by(event.c.service_id)).all())
    facts = {}
    for service_id, name, value, observed_at in connection.execute(
            sa.select(latest_fact).join(service, service.c.id == latest_fact.c.service_id)
            .where(service.c.state == 'ops_managed')):
        facts.setdefault(service_id, {})[name] = (value, observed_at)
    rows = []
    for service_id, state in connection.execute(sa.select(service.c.id, service.c.state)):
        failing = (checklists.failing_from(checks, facts.get(service_id, {}))
                   if state == 'ops_managed' else None)
        window = lifecycle.allowed_window(lifecycle.Situation(
            state=state, now=None, launch_approval=approvals.get((service_id, 'launch')),
            handoff_approval=approvals.get((service_id, 'handoff')),
            last_handback_at=handbacks.get(service_id)))
        ready = window[1] if window is not None else None
        if failing is not None or ready is not None:
            rows.append({'id_': service_id, 'failing': failing, 'ready': ready})
    if rows:
        connection.execute(
            service.update().where(service.c.id == sa.bindparam('id_'))
            .values(handback_failing_from=sa.bindparam('failing'),
                    ready_until=sa.bindparam('ready')), rows)


def downgrade():
    # Not batch mode: recreating `service` on SQLite would break 0008's triggers on
    # `review`, which write it; SQLite drops a column in place since 3.35.
    op.drop_index('ix_service_ready', table_name='service')
    op.drop_index('ix_service_handback_failing', table_name='service')
    op.execute('ALTER TABLE service DROP COLUMN ready_until')
    op.execute('ALTER TABLE service DROP COLUMN handback_failing_from')
