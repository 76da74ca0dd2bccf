"""review cycle times kept to steps (domain.charts.cycle_tenths): tenths of a day
below 10 days, days below 100, ten days beyond; review_cycle_count recounted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:40:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Copies, not imports, of readiness.summaries' triggers: a migration is a snapshot.
TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER review_cycle_count_insert AFTER INSERT ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), CASE WHEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) < 100 THEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) WHEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) < 1000 THEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) / 10 * 10 ELSE ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) / 100 * 100 END, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
        "CREATE TRIGGER review_cycle_count_update AFTER UPDATE OF state ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND OLD.state IS NOT 'approved' BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), CASE WHEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) < 100 THEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) WHEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) < 1000 THEN ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) / 10 * 10 ELSE ((CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640) / 100 * 100 END, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
    ),
    "postgresql": (
        "CREATE FUNCTION review_cycle_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'approved') THEN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (to_char(NEW.approved_at AT TIME ZONE 'UTC', 'YYYY-MM'), CASE WHEN ((floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640) < 100 THEN ((floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640) WHEN ((floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640) < 1000 THEN ((floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640) / 10 * 10 ELSE ((floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640) / 100 * 100 END, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END IF; RETURN NULL; END $$",
        'CREATE TRIGGER review_cycle_count_keep AFTER INSERT OR UPDATE OF state ON review FOR EACH ROW EXECUTE FUNCTION review_cycle_count_keep()',
    ),
}
# 0008's, for the way down.
OLD_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER review_cycle_count_insert AFTER INSERT ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), (CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
        "CREATE TRIGGER review_cycle_count_update AFTER UPDATE OF state ON review WHEN NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND OLD.state IS NOT 'approved' BEGIN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (substr(NEW.approved_at, 1, 7), (CAST(strftime('%s', NEW.approved_at) AS INTEGER) - CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER)) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END",
    ),
    "postgresql": (
        "CREATE FUNCTION review_cycle_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.state = 'approved' AND NEW.approved_at IS NOT NULL AND NEW.first_submitted_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'approved') THEN INSERT INTO review_cycle_count (month, tenths, reviews) VALUES (to_char(NEW.approved_at AT TIME ZONE 'UTC', 'YYYY-MM'), (floor(extract(epoch FROM NEW.approved_at))::bigint - floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640, 1) ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1; END IF; RETURN NULL; END $$",
        'CREATE TRIGGER review_cycle_count_keep AFTER INSERT OR UPDATE OF state ON review FOR EACH ROW EXECUTE FUNCTION review_cycle_count_keep()',
    ),
}
DROP_TRIGGERS = {
    "sqlite": ("DROP TRIGGER review_cycle_count_insert", "DROP TRIGGER review_cycle_count_update"),
    "postgresql": ("DROP FUNCTION review_cycle_count_keep() CASCADE",),
}
MONTH = {"sqlite": "substr(approved_at, 1, 7)",
         "postgresql": "to_char(approved_at AT TIME ZONE 'UTC', 'YYYY-MM')"}
TENTHS = {"sqlite": "((CAST(strftime('%s', approved_at) AS INTEGER) "
                    "- CAST(strftime('%s', first_submitted_at) AS INTEGER)) / 8640)",
          "postgresql": "((floor(extract(epoch FROM approved_at))::bigint "
                        "- floor(extract(epoch FROM first_submitted_at))::bigint) / 8640)"}
STEPPED = ("CASE WHEN {t} < 100 THEN {t} WHEN {t} < 1000 THEN {t} / 10 * 10 "
           "ELSE {t} / 100 * 100 END")


def _recount(triggers, tenths):
    dialect = op.get_bind().dialect.name
    for statement in DROP_TRIGGERS.get(dialect, ()):
        op.execute(statement)
    op.execute("DELETE FROM review_cycle_count")
    op.execute("INSERT INTO review_cycle_count (month, tenths, reviews) "
               f"SELECT {MONTH[dialect]}, {tenths}, count(*) FROM review "
               "WHERE state = 'approved' AND approved_at IS NOT NULL "
               f"AND first_submitted_at IS NOT NULL GROUP BY {MONTH[dialect]}, {tenths}")
    for statement in triggers.get(dialect, ()):
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    _recount(TRIGGERS, STEPPED.replace("{t}", TENTHS.get(dialect, "")))


def downgrade():
    _recount(OLD_TRIGGERS, TENTHS.get(op.get_bind().dialect.name, ""))
