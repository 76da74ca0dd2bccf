"""Migrations: one head, an empty database upgrades to the models' schema, with triggers."""

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from readiness import database
from readiness.commands.worklists import refresh_worklists
from readiness.extensions import db
from readiness.models import (
    AuditEntry,
    Fact,
    LatestFact,
    Review,
    ReviewCycleCount,
    Service,
    ServiceStateCount,
    Team,
    utcnow,
)

from ..factories import SMALL_CHECKLIST, make_checklist_version, make_service, make_team

pytestmark = pytest.mark.slow  # left out of the quick run (README)


def heads():
    script = ScriptDirectory(database.MIGRATIONS_DIR)
    return script.get_heads()


def test_there_is_a_single_head():
    assert len(heads()) == 1


def test_upgrading_an_empty_database_gives_the_models_schema(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade(directory=database.MIGRATIONS_DIR)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
        version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        assert [version] == heads()


def test_db_check_fails_when_the_models_drift(make_app):
    """The check above can fail: a table the migrations lack is reported."""
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR)
        db.session.execute(text("DROP TABLE fact"))
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code != 0


def test_the_migrated_audit_table_is_append_only(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR)
        make_team()
        db.session.commit()
        for statement in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(select(AuditEntry.action)) == "team:create"


def test_downgrade_to_base_and_back(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR)
        downgrade(directory=database.MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=database.MIGRATIONS_DIR)
        assert "audit_entry" in inspect(db.engine).get_table_names()


def test_the_app_migrates_an_empty_database_on_start(make_app):
    app = make_app(create_tables=False, AUTO_MIGRATE=True)
    with app.app_context():
        assert "service" in inspect(db.engine).get_table_names()
        assert [db.session.scalar(text("SELECT version_num FROM alembic_version"))] == heads()
    # A second start finds nothing to do.
    again = make_app(create_tables=False, AUTO_MIGRATE=True)
    with again.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def service_of_0005():
    """A team and a service, with the columns their tables had at 0005 (the models have
    more since)."""
    team_id = db.session.execute(insert(Team.__table__).values(
        slug="old", name="Old", created_at=utcnow()).returning(Team.__table__.c.id)).scalar()
    return db.session.execute(insert(Service.__table__).values(
        slug="old-service", name="Old service", description="", team_id=team_id, tier=2,
        state="development", created_at=utcnow(), updated_at=utcnow())
        .returning(Service.__table__.c.id, Service.__table__.c.slug)).one()


def approved_review_of_0007(service_id, version, approved_at, first_submitted_at=None):
    """An approved review with the columns its table had before 0017 (the model has
    approved_tier since)."""
    db.session.flush()  # the checklist version's id
    db.session.execute(insert(Review.__table__).values(
        service_id=service_id, checklist_version_id=version.id, state="approved",
        approved_at=approved_at, first_submitted_at=first_submitted_at, created_at=utcnow(),
        updated_at=utcnow(), version_id=1))


def test_0006_fills_latest_fact_with_the_newest_reading_of_each_fact(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR, revision="0005")
        service = service_of_0005()
        now = utcnow()
        for name, value, age in (("pages", 1.0, 3), ("pages", 2.0, 1), ("pages", 3.0, 2),
                                 ("slo", 99.5, 5)):
            # The columns of 0005's fact table (no batch yet).
            db.session.execute(insert(Fact.__table__).values(
                service_id=service.id, name=name, value=value,
                observed_at=now - timedelta(days=age), source="s", recorded_at=now))
        db.session.commit()
        upgrade(directory=database.MIGRATIONS_DIR)
        rows = db.session.execute(select(LatestFact.name, LatestFact.value, LatestFact.observed_at)
                                  .order_by(LatestFact.name)).all()
        assert rows == [("pages", 2.0, now - timedelta(days=1)),
                        ("slo", 99.5, now - timedelta(days=5))]


def test_facts_stored_by_an_older_server_after_0006_are_counted_by_refresh_latest(
        make_app):
    """A rolling upgrade: servers of the version before latest_fact store facts into
    `fact` alone; `flask facts refresh-latest` brings the latest readings up to date,
    never going back to an older reading, and is idempotent."""
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR)
        service = make_service()
        db.session.flush()
        now = utcnow()
        db.session.add(LatestFact(service_id=service.id, name="slo", value=99.5,
                                  observed_at=now - timedelta(days=1), source="s"))
        for name, value, age in (("pages", 1.0, 3), ("pages", 4.0, 0), ("slo", 90.0, 2),
                                 ("slo", 99.5, 1)):
            db.session.add(Fact(service_id=service.id, name=name, value=value,
                                observed_at=now - timedelta(days=age), source="s"))
        db.session.commit()
        runner = app.test_cli_runner()
        first = runner.invoke(args=["facts", "refresh-latest"])
        assert first.exit_code == 0 and "1 latest reading(s)" in first.output
        rows = db.session.execute(select(LatestFact.name, LatestFact.value, LatestFact.observed_at)
                                  .order_by(LatestFact.name)).all()
        assert rows == [("pages", 4.0, now), ("slo", 99.5, now - timedelta(days=1))]
        again = runner.invoke(args=["facts", "refresh-latest"])
        assert again.exit_code == 0 and "0 latest reading(s)" in again.output


def test_0008_counts_the_services_and_finds_each_latest_launch_approval(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR, revision="0007")
        service = service_of_0005()
        db.session.execute(text("UPDATE service SET state = 'self_managed'"))
        launch = make_checklist_version(content=dict(SMALL_CHECKLIST, valid_for_days=90))
        handoff = make_checklist_version("handoff-readiness", stage="handoff")
        now = utcnow()
        for version, age in ((launch, 40), (launch, 10), (handoff, 1), (launch, 20)):
            approved_review_of_0007(service.id, version, now - timedelta(days=age))
        db.session.commit()
        latest = db.session.scalar(select(Review.id).where(Review.approved_at
                                                           == now - timedelta(days=10)))
        db.session.commit()  # the upgrade's connection is another: end this read first
        upgrade(directory=database.MIGRATIONS_DIR)
        assert db.session.execute(select(ServiceStateCount.state, ServiceStateCount.services)
                                  ).all() == [("self_managed", 1)]
        assert db.session.execute(select(Service.launch_review_id, Service.launch_approved_at,
                                         Service.launch_valid_days)).one() == (
            latest, now - timedelta(days=10), 90)
        make_service(state="ops_managed")  # and the triggers keep them from here
        db.session.flush()
        assert dict(db.session.execute(select(ServiceStateCount.state,
                                              ServiceStateCount.services)).all()) == {
            "self_managed": 1, "ops_managed": 1, "development": 0}  # created, then moved


def test_0009_keeps_the_worklists_moments_of_the_services_there(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR, revision="0008")
        waiting = service_of_0005()
        failing = db.session.execute(insert(Service.__table__).values(
            slug="failing", name="Failing", description="", state="ops_managed", tier=2,
            team_id=db.session.scalar(select(Team.id)), created_at=utcnow(),
            updated_at=utcnow()).returning(Service.__table__.c.id)).scalar()
        now = utcnow()
        check = {"fact": "pages", "op": "<=", "value": 5, "max_age_days": 7}
        make_checklist_version("handback-criteria", stage="handback", content=dict(
            SMALL_CHECKLIST, sections=[{"id": "s", "title": "S", "description": "", "items": [
                {"id": "pages", "title": "Pages", "required": True, "evidence": "none",
                 "guidance": "", "check": check}]}]))
        db.session.add(LatestFact(service_id=failing, name="pages", value=3.0,
                                  observed_at=now - timedelta(days=2), source="t"))
        launch = make_checklist_version(content=dict(SMALL_CHECKLIST, valid_for_days=90))
        approved_review_of_0007(waiting.id, launch, now - timedelta(days=10))
        db.session.commit()
        upgrade(directory=database.MIGRATIONS_DIR)
        assert dict(db.session.execute(select(Service.slug, Service.handback_failing_from)
                                       ).all()) == {
            "old-service": None, "failing": now + timedelta(days=5, microseconds=1)}
        assert db.session.execute(select(Service.slug, Service.ready_until)
                                  .where(Service.ready_until.is_not(None))).all() == [
            ("old-service", now + timedelta(days=80))]
        assert refresh_worklists() == 0  # what the app would keep


def test_0010_keeps_cycle_times_to_steps_in_the_counts_and_the_triggers(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR, revision="0009")
        service = service_of_0005()
        version = make_checklist_version()
        now = utcnow().replace(day=1, hour=12)  # both approvals in the same month
        approved_review_of_0007(service.id, version, now,
                                first_submitted_at=now - timedelta(days=154, hours=1))
        db.session.commit()
        assert db.session.scalar(select(ReviewCycleCount.tenths)) == 1540  # as 0008 kept it
        db.session.commit()  # the upgrade's connection is another: end this read first
        upgrade(directory=database.MIGRATIONS_DIR)
        db.session.add(Review(service_id=service.id, checklist_version=version,
                              state="approved", approved_at=now,
                              first_submitted_at=now - timedelta(days=12.34)))
        db.session.commit()
        assert db.session.execute(select(ReviewCycleCount.tenths, ReviewCycleCount.reviews)
                                  .order_by(ReviewCycleCount.tenths)).all() == [
            (120, 1), (1500, 1)]
        db.session.commit()
        downgrade(directory=database.MIGRATIONS_DIR, revision="0009")
        assert db.session.execute(select(ReviewCycleCount.tenths)
                                  .order_by(ReviewCycleCount.tenths)).scalars().all() == [
            123, 1540]


def test_0018_keeps_the_re_review_moment_of_live_services(make_app):
    app = make_app(create_tables=False)
    with app.app_context():
        upgrade(directory=database.MIGRATIONS_DIR, revision="0017")
        team_id = db.session.execute(insert(Team.__table__).values(
            slug="t", name="T", created_at=utcnow()).returning(Team.__table__.c.id)).scalar()

        def service(slug, state, tier):
            return db.session.execute(insert(Service.__table__).values(
                slug=slug, name=slug, description="", team_id=team_id, tier=tier,
                state=state, created_at=utcnow(), updated_at=utcnow(), from_catalog=False)
                .returning(Service.__table__.c.id)).scalar()

        now = utcnow()
        launch = make_checklist_version(content=dict(SMALL_CHECKLIST, valid_for_days=90))
        db.session.flush()
        for slug, state, tier, approved_tier, days_ago in [
                ("expiring", "self_managed", 2, 2, 70), ("quiet", "ops_managed", 2, 2, 10),
                ("raised", "ops_managed", 1, 2, 10), ("unlaunched", "development", 2, 2, 70)]:
            db.session.execute(insert(Review.__table__).values(
                service_id=service(slug, state, tier), checklist_version_id=launch.id,
                state="approved", approved_at=now - timedelta(days=days_ago),
                approved_tier=approved_tier, created_at=utcnow(), updated_at=utcnow(),
                version_id=1))
        db.session.commit()
        upgrade(directory=database.MIGRATIONS_DIR)
        kept = dict(db.session.execute(select(Service.slug, Service.rereview_from)).all())
        assert kept == {
            "expiring": now - timedelta(days=70) + timedelta(days=60),
            "quiet": now - timedelta(days=10) + timedelta(days=60),
            "raised": now - timedelta(days=10), "unlaunched": None}
        refresh_worklists()  # (also fills ready_until, which these rows were made without)
        db.session.expire_all()
        assert dict(db.session.execute(select(Service.slug, Service.rereview_from)).all()) \
            == kept  # what the app would keep
