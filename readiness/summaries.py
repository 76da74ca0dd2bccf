"""Figures kept in the same transaction as the rows they count, so that a page reads a
few rows instead of counting the organisation (bench/README.md, "Cost that does not
grow with the organisation").

`service_state_count` is kept by triggers on `service`, `review_state_count`,
`review_cycle_count` and `service.launch_*` (the latest launch approval) by triggers on
`review`, and
`event_month_count` by a trigger on `management_event`, so every writer keeps them: the
app, the CLI, the benchmark's generator, a migration. A state change of one service
updates both rows in one statement, in the table's order, so two PostgreSQL
transactions moving services between the same states take the row locks in the same
order. Tests hold every figure here to its plain definition (a GROUP BY over the rows)
after the demo, after the generator and after random sequences of operations
(tests/integration/test_summaries.py).
"""

from sqlalchemy import event

from .extensions import db

SQLITE_TRIGGERS = (
    "CREATE TRIGGER service_state_count_insert AFTER INSERT ON service BEGIN "
    "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 1) "
    "ON CONFLICT (state) DO UPDATE SET services = service_state_count.services + 1; END",
    # The new state's row may not exist yet: it is added (with 0) before the move.
    "CREATE TRIGGER service_state_count_update AFTER UPDATE OF state ON service "
    "WHEN OLD.state IS NOT NEW.state BEGIN "
    "INSERT INTO service_state_count (state, services) VALUES (NEW.state, 0) "
    "ON CONFLICT (state) DO NOTHING; "
    "UPDATE service_state_count SET services = services + "
    "CASE WHEN state = NEW.state THEN 1 ELSE -1 END WHERE state IN (OLD.state, NEW.state); "
    "END",
    "CREATE TRIGGER service_state_count_delete AFTER DELETE ON service BEGIN "
    "UPDATE service_state_count SET services = services - 1 WHERE state = OLD.state; END",
)
POSTGRESQL_TRIGGERS = (
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
)
# service.launch_*: the latest approved launch review of the service, by (approved_at,
# id) as queries.lifecycle.latest_approval_id chooses it; copied, never computed (SQLite
# has no date arithmetic at microseconds), so the expiring approvals are ranges of
# ix_service_launch_expiry, one per valid_for_days. An approved review is never deleted
# (it is frozen, and the record points at it), so only approvals move it.
_KEEP_LAUNCH_APPROVAL = (
    "UPDATE service SET launch_review_id = NEW.id, launch_approved_at = NEW.approved_at, "
    "launch_valid_days = (SELECT valid_for_days FROM checklist_version "
    "WHERE id = NEW.checklist_version_id) "
    "WHERE id = NEW.service_id AND EXISTS (SELECT 1 FROM checklist_version "
    "WHERE id = NEW.checklist_version_id AND stage = 'launch') "
    "AND (launch_review_id IS NULL "
    "OR (NEW.approved_at, NEW.id) > (launch_approved_at, launch_review_id))"
)
SQLITE_TRIGGERS += (
    "CREATE TRIGGER service_launch_approval_insert AFTER INSERT ON review "
    "WHEN NEW.state = 'approved' BEGIN " + _KEEP_LAUNCH_APPROVAL + "; END",
    "CREATE TRIGGER service_launch_approval_update AFTER UPDATE OF state, approved_at "
    "ON review WHEN NEW.state = 'approved' BEGIN " + _KEEP_LAUNCH_APPROVAL + "; END",
)
POSTGRESQL_TRIGGERS += (
    "CREATE FUNCTION service_launch_approval_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF NEW.state = 'approved' THEN " + _KEEP_LAUNCH_APPROVAL + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER service_launch_approval_keep AFTER INSERT OR UPDATE OF state, approved_at "
    "ON review FOR EACH ROW EXECUTE FUNCTION service_launch_approval_keep()",
)
# review_state_count: reviews by the stage of their checklist and their state.
_ADD_REVIEW = (
    "INSERT INTO review_state_count (stage, state, reviews) "
    "SELECT stage, NEW.state, 1 FROM checklist_version WHERE id = NEW.checklist_version_id "
    "ON CONFLICT (stage, state) DO UPDATE SET reviews = review_state_count.reviews + 1")
_MOVE_REVIEW = (
    "INSERT INTO review_state_count (stage, state, reviews) "
    "SELECT stage, NEW.state, 0 FROM checklist_version WHERE id = NEW.checklist_version_id "
    "ON CONFLICT (stage, state) DO NOTHING; "
    "UPDATE review_state_count SET reviews = reviews + "
    "CASE WHEN state = NEW.state THEN 1 ELSE -1 END "
    "WHERE stage = (SELECT stage FROM checklist_version WHERE id = NEW.checklist_version_id) "
    "AND state IN (OLD.state, NEW.state)")
_REMOVE_REVIEW = (
    "UPDATE review_state_count SET reviews = reviews - 1 "
    "WHERE stage = (SELECT stage FROM checklist_version WHERE id = OLD.checklist_version_id) "
    "AND state = OLD.state")
SQLITE_TRIGGERS += (
    "CREATE TRIGGER review_state_count_insert AFTER INSERT ON review BEGIN "
    + _ADD_REVIEW + "; END",
    "CREATE TRIGGER review_state_count_update AFTER UPDATE OF state ON review "
    "WHEN OLD.state IS NOT NEW.state BEGIN " + _MOVE_REVIEW + "; END",
    "CREATE TRIGGER review_state_count_delete AFTER DELETE ON review BEGIN "
    + _REMOVE_REVIEW + "; END",
)
POSTGRESQL_TRIGGERS += (
    "CREATE FUNCTION review_state_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'INSERT' THEN " + _ADD_REVIEW + "; "
    "ELSIF TG_OP = 'DELETE' THEN " + _REMOVE_REVIEW + "; "
    "ELSIF OLD.state IS DISTINCT FROM NEW.state THEN " + _MOVE_REVIEW + "; "
    "END IF; RETURN NULL; END $$",
    "CREATE TRIGGER review_state_count_keep AFTER INSERT OR DELETE OR UPDATE OF state "
    "ON review FOR EACH ROW EXECUTE FUNCTION review_state_count_keep()",
)

# event_month_count: management events by UTC month ("YYYY-MM") and kind. On SQLite the
# stored text of a UTC time starts with it.
_ADD_EVENT = (
    "INSERT INTO event_month_count (month, kind, events) VALUES ({month}, NEW.kind, 1) "
    "ON CONFLICT (month, kind) DO UPDATE SET events = event_month_count.events + 1")
SQLITE_TRIGGERS += (
    "CREATE TRIGGER event_month_count_insert AFTER INSERT ON management_event BEGIN "
    + _ADD_EVENT.replace("{month}", "substr(NEW.created_at, 1, 7)") + "; END",
)
POSTGRESQL_TRIGGERS += (
    "CREATE FUNCTION event_month_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    + _ADD_EVENT.replace("{month}", "to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM')")
    + "; RETURN NULL; END $$",
    "CREATE TRIGGER event_month_count_keep AFTER INSERT ON management_event "
    "FOR EACH ROW EXECUTE FUNCTION event_month_count_keep()",
)
# review_cycle_count: approvals by UTC month and by tenths of a day from first submission
# to approval, counted in whole seconds (each time rounded down to its second) and kept to
# the steps of domain.charts.cycle_tenths, once, when a review is approved (an approved
# review never changes again).
_ADD_CYCLE = (
    "INSERT INTO review_cycle_count (month, tenths, reviews) VALUES ({month}, {tenths}, 1) "
    "ON CONFLICT (month, tenths) DO UPDATE SET reviews = review_cycle_count.reviews + 1")
# domain.charts.cycle_tenths, in SQL (held to it by tests/integration/test_summaries.py).
_STEPPED = ("CASE WHEN {t} < 100 THEN {t} WHEN {t} < 1000 THEN {t} / 10 * 10 "
            "ELSE {t} / 100 * 100 END")
_SQLITE_CYCLE = _ADD_CYCLE.replace("{month}", "substr(NEW.approved_at, 1, 7)").replace(
    "{tenths}", _STEPPED.replace("{t}", "((CAST(strftime('%s', NEW.approved_at) AS INTEGER) "
                                 "- CAST(strftime('%s', NEW.first_submitted_at) AS INTEGER))"
                                 " / 8640)"))
_IS_COUNTED = ("NEW.state = 'approved' AND NEW.approved_at IS NOT NULL "
               "AND NEW.first_submitted_at IS NOT NULL")
SQLITE_TRIGGERS += (
    "CREATE TRIGGER review_cycle_count_insert AFTER INSERT ON review WHEN " + _IS_COUNTED
    + " BEGIN " + _SQLITE_CYCLE + "; END",
    "CREATE TRIGGER review_cycle_count_update AFTER UPDATE OF state ON review WHEN "
    + _IS_COUNTED + " AND OLD.state IS NOT 'approved' BEGIN " + _SQLITE_CYCLE + "; END",
)
POSTGRESQL_TRIGGERS += (
    "CREATE FUNCTION review_cycle_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF " + _IS_COUNTED + " AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM "
    "'approved') THEN "
    + _ADD_CYCLE.replace("{month}", "to_char(NEW.approved_at AT TIME ZONE 'UTC', 'YYYY-MM')")
    .replace("{tenths}", _STEPPED.replace(
        "{t}", "((floor(extract(epoch FROM NEW.approved_at))::bigint "
        "- floor(extract(epoch FROM NEW.first_submitted_at))::bigint) / 8640)"))
    + "; END IF; RETURN NULL; END $$",
    "CREATE TRIGGER review_cycle_count_keep AFTER INSERT OR UPDATE OF state ON review "
    "FOR EACH ROW EXECUTE FUNCTION review_cycle_count_keep()",
)
TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}


@event.listens_for(db.metadata, "after_create")
def _create_triggers(metadata, connection, **kw):
    # The migration creates the same triggers; this covers metadata.create_all(), after
    # every table (the triggers are on `service`, and write `service_state_count`).
    for statement in TRIGGERS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)

