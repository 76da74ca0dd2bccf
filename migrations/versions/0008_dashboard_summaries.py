"""dashboard summaries kept by triggers: service_state_count, review_state_count,
review_cycle_count, event_month_count and service.launch_* (the latest launch approval)

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
TRIGGERS = {
    "sqlite": (
        'CREATE TRIGGER service_state_count_insert AFTER INSERT ON service BEGIN INSERT INTO service_state_count (state, services) VALUES (NEW.state, 1) ON CONFLICT (state) DO UPDATE SET services = service_state_count.services + 1; END',
        'CREATE TRIGGER service_state_count_update AFTER UPDATE OF state ON service WHEN OLD.state IS NOT NEW.state BEGIN INSERT INTO service_state_count (state, services) VALUES (NEW.state, 0) ON CONFLICT (state) DO NOTHING; UPDATE service_state_count SET services = services + CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE state IN (OLD.state, NEW.state); END',
        'CREATE TRIGGER service_state_count_delete AFTER DELETE ON service BEGIN UPDATE service_state_count SET services = services - 1 WHERE state = OLD.state; END',
        "CREATE TRIGGER service_launch_approval_insert AFTER INSERT ON review WHEN NEW.state = 'approved' BEGIN UPDATE service SET launch_review_id = NEW.id, launch_approved_at = NEW.approved_at, launch_valid_days = (SELECT valid_for_days FROM checklist_version WHERE id = NEW.checklist_version_id) WHERE id = NEW.service_id AND EXISTS (SELECT 1 FROM checklist_version WHERE id = NEW.checklist_version_id AND stage = 'launch') AND (launch_review_id IS NULL OR (NEW.approved_at, NEW.id) > (launch_approved_at, launch_review_id)); END",
        "CREATE TRIGGER service_launch_approval_update AFTER UPDATE OF state, approved_at ON review WHEN NEW.state = 'approved' BEGIN UPDATE service SET launch_review_id = NEW.id, launch_approved_at = NEW.approved_at, launch_valid_days = (SELECT valid_for_days FROM checklist_version WHERE id = NEW.checklist_version_id) WHERE id = NEW.service_id AND EXISTS (SELECT 1 FROM checklist_version WHERE id = NEW.checklist_version_id AND stage = 'launch') AND (launch_review_id IS NULL OR (NEW.approved_at, NEW.id) > (launch_approved_at, launch_review_id)); END",
        'CREATE TRIGGER review_state_count_insert AFTER INSERT ON review BEGIN INSERT INTO review_state_count (stage, state, reviews) SELECT stage, NEW.state, 1 FROM checklist_version WHERE id = NEW.checklist_version_id ON CONFLICT (stage, state) DO UPDATE SET reviews = review_state_count.reviews + 1; END',
        'CREATE TRIGGER review_state_count_update AFTER UPDATE OF state ON review WHEN OLD.state IS NOT NEW.state BEGIN INSERT INTO review_state_count (stage, state, reviews) SELECT stage, NEW.state, 0 FROM checklist_version WHERE id = NEW.checklist_version_id ON CONFLICT (stage, state) DO NOTHING; UPDATE review_state_count SET reviews = reviews + CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE stage = (SELECT stage FROM checklist_version WHERE id = NEW.checklist_version_id) AND state IN (OLD.state, NEW.state); END',
        'CREATE TRIGGER review_state_count_delete AFTER DELETE ON review BEGIN UPDATE review_state_count SET reviews = reviews - 1 WHERE stage = (SELECT stage FROM checklist_version WHERE id = OLD.checklist_version_id) AND state = OLD.state; END',
        'CREATE TRIGGER event_month_count_insert AFTER INSERT ON management_event BEGIN INSERT INTO event_month_count (month, kind, events) VALUES (substr(NEW.created_at, 1, 7), NEW.kind, 1) ON CONFLICT (month, kind) DO UPDATE SET events = event_month_count.events + 1; END',
        "CREATE TRIGGER review_cycle_count_insert AFTER INSERT ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), (CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
        "CREATE TRIGGER review_cycle_count_update AFTER UPDATE OF state ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND OLD.state IS NOT 'approved' BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), (CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
    ),
    "postgresql": (
        "CREATE FUNCTION service_state_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN INSERT INTO service_state_count (state, services) VALUES (NEW.state, 1) ON CONFLICT (state) DO UPDATE SET services = service_state_count.services + 1; ELSIF TG_OP = 'DELETE' THEN UPDATE service_state_count SET services = services - 1 WHERE state = OLD.state; ELSIF OLD.state IS DISTINCT FROM NEW.state THEN INSERT INTO service_state_count (state, services) VALUES (NEW.state, 0) ON CONFLICT (state) DO NOTHING; UPDATE service_state_count SET services = services + CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE state IN (OLD.state, NEW.state); END IF; RETURN NULL; END $$",
        'CREATE TRIGGER service_state_count_keep AFTER INSERT OR DELETE OR UPDATE OF state ON service FOR EACH ROW EXECUTE FUNCTION service_state_count_keep()',
        "CREATE FUNCTION service_launch_approval_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.state = 'approved' THEN UPDATE service SET launch_review_id = NEW.id, launch_approved_at = NEW.approved_at, launch_valid_days = (SELECT valid_for_days FROM checklist_version WHERE id = NEW.checklist_version_id) WHERE id = NEW.service_id AND EXISTS (SELECT 1 FROM checklist_version WHERE id = NEW.checklist_version_id AND stage = 'launch') AND (launch_review_id IS NULL OR (NEW.approved_at, NEW.id) > (launch_approved_at, launch_review_id)); END IF; RETURN NULL; END $$",
        'CREATE TRIGGER service_launch_approval_keep AFTER INSERT OR UPDATE OF state, approved_at ON review FOR EACH ROW EXECUTE FUNCTION service_launch_approval_keep()',
        "CREATE FUNCTION review_state_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN INSERT INTO review_state_count (stage, state, reviews) SELECT stage, NEW.state, 1 FROM checklist_version WHERE id = NEW.checklist_version_id ON CONFLICT (stage, state) DO UPDATE SET reviews = review_state_count.reviews + 1; ELSIF TG_OP = 'DELETE' THEN UPDATE review_state_count SET reviews = reviews - 1 WHERE stage = (SELECT stage FROM checklist_version WHERE id = OLD.checklist_version_id) AND state = OLD.state; ELSIF OLD.state IS DISTINCT FROM NEW.state THEN INSERT INTO review_state_count (stage, state, reviews) SELECT stage, NEW.state, 0 FROM checklist_version WHERE id = NEW.checklist_version_id ON CONFLICT (stage, state) DO NOTHING; UPDATE review_state_count SET reviews = reviews + CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE stage = (SELECT stage FROM checklist_version WHERE id = NEW.checklist_version_id) AND state IN (OLD.state, NEW.state); END IF; RETURN NULL; END $$",
        'CREATE TRIGGER review_state_count_keep AFTER INSERT OR DELETE OR UPDATE OF state ON review FOR EACH ROW EXECUTE FUNCTION review_state_count_keep()',
        "CREATE FUNCTION event_month_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO event_month_count (month, kind, events) VALUES (to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), NEW.kind, 1) ON CONFLICT (month, kind) DO UPDATE SET events = event_month_count.events + 1; RETURN NULL; END $$",
        'CREATE TRIGGER event_month_count_keep AFTER INSERT ON management_event FOR EACH ROW EXECUTE FUNCTION event_month_count_keep()',
        "CREATE FUNCTION review_cycle_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'approved') THEN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (to_char(NEW.approved_at AT TIME ZONE 'UTC', 'YYYY-MM'), (floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END IF; RETURN NULL; END $$",
        'CREATE TRIGGER review_cycle_count_keep AFTER INSERT OR UPDATE OF state ON review FOR EACH ROW EXECUTE FUNCTION review_cycle_count_keep()',
    ),
}
DROP_TRIGGERS = {
    "sqlite": tuple(f"DROP TRIGGER {name}" for name in (
        "service_state_count_insert", "service_state_count_update",
        "service_state_count_delete", "service_launch_approval_insert",
        "service_launch_approval_update", "review_state_count_insert",
        "review_state_count_update", "review_state_count_delete",
        "event_month_count_insert", "review_cycle_count_insert",
        "review_cycle_count_update")),
    "postgresql": tuple(f"DROP FUNCTION {name}() CASCADE" for name in (
        "service_state_count_keep", "service_launch_approval_keep", "review_state_count_keep",
        "event_month_count_keep", "review_cycle_count_keep")),
}
MONTH = {"sqlite": "substr({column}, 1, 7)",
         "postgresql": "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"}
TENTHS = {"sqlite": "(CAST(strftime('%s', approved_at) AS INTEGER) "
                    "- CAST(strftime('%s', first_submitted_at) AS INTEGER)) / 8640",
          "postgresql": "(floor(extract(epoch FROM approved_at))::bigint "
                        "- floor(extract(epoch FROM first_submitted_at))::bigint) / 8640"}


def upgrade():
    op.create_table('service_state_count',
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('services', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_service_state_count'))
    )
    op.create_table('review_state_count',
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('stage', 'state', name=op.f('pk_review_state_count'))
    )
    op.create_table('review_cycle_count',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('tenths', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'tenths', name=op.f('pk_review_cycle_count'))
    )
    op.create_table('event_month_count',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'kind', name=op.f('pk_event_month_count'))
    )
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('launch_review_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('launch_approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('launch_valid_days', sa.Integer(), nullable=True))
        batch_op.create_index('ix_service_launch_expiry', ['state', 'launch_valid_days', 'launch_approved_at'], unique=False)

    # The figures of the rows already there; from here the triggers keep them.
    op.execute("INSERT INTO service_state_count (state, services) "
               "SELECT state, count(*) FROM service GROUP BY state")
    op.execute("INSERT INTO review_state_count (stage, state, reviews) "
               "SELECT v.stage, r.state, count(*) FROM review r "
               "JOIN checklist_version v ON v.id = r.checklist_version_id "
               "GROUP BY v.stage, r.state")
    dialect = op.get_bind().dialect.name
    month = MONTH[dialect].replace("{column}", "created_at")
    op.execute("INSERT INTO event_month_count (month, kind, events) "
               f"SELECT {month}, kind, count(*) FROM management_event GROUP BY {month}, kind")
    month = MONTH[dialect].replace("{column}", "approved_at")
    op.execute("INSERT INTO review_cycle_count (month, tenths, reviews) "
               f"SELECT {month}, {TENTHS[dialect]}, count(*) FROM review "
               "WHERE state = 'approved' AND approved_at IS NOT NULL "
               f"AND first_submitted_at IS NOT NULL GROUP BY {month}, {TENTHS[dialect]}")
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
    op.drop_table('event_month_count')
    op.drop_table('review_cycle_count')
    op.drop_table('review_state_count')
    op.drop_table('service_state_count')
