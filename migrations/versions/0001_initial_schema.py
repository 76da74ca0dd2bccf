"""initial schema, with the append-only triggers on audit_entry

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 16:51:30.226559
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# A copy, not an import, of readiness.audit's triggers: a migration is a snapshot.
TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
        "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$",
        "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()",
        "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()",
    ),
}
DROP_TRIGGERS = {
    "sqlite": ("DROP TRIGGER audit_entry_no_update", "DROP TRIGGER audit_entry_no_delete"),
    "postgresql": ("DROP FUNCTION audit_entry_refuse_change() CASCADE",),
}


def upgrade():
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_entry_seq'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)

    op.create_table('checklist_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('valid_for_days', sa.Integer(), nullable=True),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_path', sa.String(length=500), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('launch', 'handoff', 'handback')", name=op.f('ck_checklist_version_stage_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_version')),
    sa.UniqueConstraint('checklist_id', 'version', name='uq_checklist_version_id_version')
    )
    with op.batch_alter_table('checklist_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_version_checklist_id'), ['checklist_id'], unique=False)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('slug', name=op.f('uq_team_slug'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('is_consultant', sa.Boolean(), nullable=False),
    sa.Column('is_ops_lead', sa.Boolean(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('session_nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('repo_url', sa.String(length=500), nullable=True),
    sa.Column('runbook_url', sa.String(length=500), nullable=True),
    sa.Column('dashboard_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('development', 'self_managed', 'ops_managed', 'retired')", name=op.f('ck_service_state_valid')),
    sa.CheckConstraint('tier BETWEEN 1 AND 3', name=op.f('ck_service_tier_valid')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_service_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('slug', name=op.f('uq_service_slug'))
    )
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_team_id'), ['team_id'], unique=False)

    op.create_table('team_membership',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_membership_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_team_membership_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_membership'))
    )
    op.create_table('fact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_fact_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fact')),
    sa.UniqueConstraint('service_id', 'name', 'observed_at', name='uq_fact_service_name_time')
    )
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('checklist_version_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'changes_requested', 'approved', 'withdrawn')", name=op.f('ck_review_state_valid')),
    sa.ForeignKeyConstraint(['checklist_version_id'], ['checklist_version.id'], name=op.f('fk_review_checklist_version_id_checklist_version')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_review_created_by_id_user')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_review_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review'))
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_state'), ['state'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('met', 'not_met', 'not_applicable')", name=op.f('ck_answer_status_valid')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_answer_answered_by_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_answer_review_id_review'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('review_id', 'item_id', name='uq_answer_review_item')
    )
    op.create_table('decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('consultant_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('item_comments', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('approve', 'request_changes')", name=op.f('ck_decision_verdict_valid')),
    sa.ForeignKeyConstraint(['consultant_id'], ['user.id'], name=op.f('fk_decision_consultant_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_decision_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_review_id'), ['review_id'], unique=False)

    op.create_table('management_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=False),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('failing_items', sa.JSON(), nullable=False),
    sa.Column('return_conditions', sa.Text(), nullable=False),
    sa.Column('return_items', sa.JSON(), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('launch', 'handoff', 'handback', 'retire')", name=op.f('ck_management_event_kind_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_management_event_actor_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_management_event_review_id_review')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_management_event_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_event'))
    )
    with op.batch_alter_table('management_event', schema=None) as batch_op:
        batch_op.create_index('ix_management_event_service_created', ['service_id', 'created_at'], unique=False)
    for statement in TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    with op.batch_alter_table('management_event', schema=None) as batch_op:
        batch_op.drop_index('ix_management_event_service_created')

    op.drop_table('management_event')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_review_id'))

    op.drop_table('decision')
    op.drop_table('answer')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_state'))
        batch_op.drop_index(batch_op.f('ix_review_service_id'))

    op.drop_table('review')
    op.drop_table('fact')
    op.drop_table('team_membership')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_team_id'))
        batch_op.drop_index(batch_op.f('ix_service_state'))

    op.drop_table('service')
    op.drop_table('user')
    op.drop_table('team')
    with op.batch_alter_table('checklist_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_version_checklist_id'))

    op.drop_table('checklist_version')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
