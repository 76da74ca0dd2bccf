"""service_state_count and service.launch_*: kept by triggers for the dashboard

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# A copy, not an import, of readiness.summaries' triggers: a migration is a snapshot.
KEEP_LAUNCH_APPROVAL = (
    "UPDATE service SET launch_review_id = NEW.id, launch_approved_at = NEW.approved_at, "
    "launch_valid_days = (SELECT valid_for_days FROM checklist_version "
    "WHERE id = NEW.checklist_version_id) "
    "WHERE id = NEW.service_id AND EXISTS (SELECT 1 FROM checklist_version "
    "WHERE id = NEW.checklist_version_id AND stage = 'launch') "
    "AND (launch_review_id IS NULL "
    "OR (NEW.approved_at, NEW.id) > (launch_approved_at, launch_review_id))"
)
TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER service_state_count_insert AFTER INSERT ON service BEGIN "
        "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 1) "
        "ON CONFLICT (state) DO UPDATE SET services = service_state_count.services + 1; END",
        "CREATE TRIGGER service_state_count_update AFTER UPDATE OF state ON service "
        "WHEN OLD.state IS NOT NEW.state BEGIN "
        "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 0) "
        "ON CONFLICT (state) DO NOTHING; "
        "UPDATE service_state_count SET services = services + "
        "CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE state IN (OLD.state, NEW.state); "
        "END",
        "CREATE TRIGGER service_state_count_delete AFTER DELETE ON service BEGIN "
        "UPDATE service_state_count SET services = services - 1 WHERE state = OLD.state; END",
        "CREATE TRIGGER service_launch_approval_insert AFTER INSERT ON review "
        "WHEN NEW.state = 'approved' BEGIN " + KEEP_LAUNCH_APPROVAL + "; END",
        "CREATE TRIGGER service_launch_approval_update AFTER UPDATE OF state, approved_at "
        "ON review WHEN NEW.state = 'approved' BEGIN " + KEEP_LAUNCH_APPROVAL + "; END",
    ),
    "postgresql": (
        "CREATE FUNCTION service_state_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 1) "
        "ON CONFLICT (state) DO UPDATE SET services = service_state_count.services + 1; "
        "ELSIF TG_OP = 'DELETE' THEN "
        "UPDATE service_state_count SET services = services - 1 WHERE state = OLD.state; "
        "ELSIF OLD.state IS DISTINCT FROM NEW.state THEN "
        "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 0) "
        "ON CONFLICT (state) DO NOTHING; "
        "UPDATE service_state_count SET services = services + "
        "CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE state IN (OLD.state, NEW.state); "
        "END IF; RETURN NULL; END $$",
        "CREATE TRIGGER service_state_count_keep AFTER INSERT OR DELETE OR UPDATE OF state "
        "ON service FOR EACH ROW EXECUTE FUNCTION service_state_count_keep()",
        "CREATE FUNCTION service_launch_approval_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.state = 'approved' THEN " + KEEP_LAUNCH_APPROVAL + "; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER service_launch_approval_keep AFTER INSERT OR UPDATE OF state, approved_at "
        "ON review FOR EACH ROW EXECUTE FUNCTION service_launch_approval_keep()",
    ),
}
DROP_TRIGGERS = {
    "sqlite": ("DROP TRIGGER service_state_count_insert",
               "DROP TRIGGER service_state_count_update",
               "DROP TRIGGER service_state_count_delete",
               "DROP TRIGGER service_launch_approval_insert",
               "DROP TRIGGER service_launch_approval_update"),
    "postgresql": ("DROP FUNCTION service_state_count_keep() CASCADE",
                   "DROP FUNCTION service_launch_approval_keep() CASCADE"),
}


def upgrade():
    op.create_table('service_state_count',
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('services', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_service_state_count'))
    )
    # The counts of the services already there, then triggers keep them.
    op.execute("INSERT INTO service_state_count (state, services) "
               "SELECT state, count(*) FROM service GROUP BY state")
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('launch_review_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('launch_approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('launch_valid_days', sa.Integer(), nullable=True))
        batch_op.create_index('ix_service_launch_expiry', ['state', 'launch_valid_days', 'launch_approved_at'], unique=False)
    # Each service's latest launch approval so far, as queries.lifecycle chooses it.
    op.execute(
        "UPDATE service SET launch_review_id = (SELECT r.id FROM review r "
        "JOIN checklist_version v ON v.id = r.checklist_version_id "
        "WHERE r.service_id = service.id AND r.state = 'approved' AND v.stage = 'launch' "
        "ORDER BY r.approved_at DESC, r.id DESC LIMIT 1)")
    op.execute(
        "UPDATE service SET "
        "launch_approved_at = (SELECT approved_at FROM review WHERE id = service.launch_review_id), "
        "launch_valid_days = (SELECT v.valid_for_days FROM review r "
        "JOIN checklist_version v ON v.id = r.checklist_version_id "
        "WHERE r.id = service.launch_review_id) "
        "WHERE launch_review_id IS NOT NULL")
    for statement in TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_index('ix_service_launch_expiry')
        batch_op.drop_column('launch_valid_days')
        batch_op.drop_column('launch_approved_at')
        batch_op.drop_column('launch_review_id')
    op.drop_table('service_state_count')
