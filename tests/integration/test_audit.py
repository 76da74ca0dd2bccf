"""The record: append-only in the database, hash-chained, verified by `flask audit verify`."""

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from readiness import audit
from readiness import commands as operations
from readiness.domain.reviews import review_content_hash
from readiness.extensions import db
from readiness.models import Answer, AuditEntry, Review

from ..conftest import postgres_url
from ..factories import make_review, make_team, make_user


def drop_triggers():
    """What someone with database access could do to rewrite history."""
    statements = {
        "sqlite": ["DROP TRIGGER audit_entry_no_update", "DROP TRIGGER audit_entry_no_delete"],
        "postgresql": ["DROP FUNCTION audit_entry_refuse_change() CASCADE"],
    }[db.engine.dialect.name]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()


def test_each_entry_records_who_what_and_links_to_the_one_before(app):
    admin = make_user(name="Ada", email="ada@example.com", roles=("admin",))
    team = operations.create_team(slug="payments", name="Payments", actor=admin)
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == [1, 2]
    first, second = entries
    assert first.prev_hash == audit.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert (second.action, second.subject_type, second.subject_id) == (
        "team:create", "team", str(team.id))
    assert (second.actor_id, second.actor_name, second.actor_email) == (
        admin.id, "Ada", "ada@example.com")
    assert second.changes == {"slug": "payments", "name": "Payments"}
    assert second.created_at.tzinfo is not None
    assert audit.verify() == []


EVERY_FORM = {
    "update": "UPDATE audit_entry SET action = 'team:delete'",
    "delete": "DELETE FROM audit_entry",
    "upsert": "INSERT INTO audit_entry SELECT * FROM audit_entry WHERE true "
              "ON CONFLICT (seq) DO UPDATE SET action = 'team:delete'",
}
SQLITE_ONLY = {
    "replace": "REPLACE INTO audit_entry SELECT * FROM audit_entry",
    "insert or replace": "INSERT OR REPLACE INTO audit_entry SELECT * FROM audit_entry",
}
POSTGRESQL_ONLY = {
    "merge update": "MERGE INTO audit_entry t USING audit_entry s ON t.seq = s.seq "
                    "WHEN MATCHED THEN UPDATE SET action = 'team:delete'",
    "merge delete": "MERGE INTO audit_entry t USING audit_entry s ON t.seq = s.seq "
                    "WHEN MATCHED THEN DELETE",
}


# The forms of the database the suite runs on (.ci/run runs it on both).
FORMS = {**EVERY_FORM, **(POSTGRESQL_ONLY if postgres_url() else SQLITE_ONLY)}


@pytest.mark.parametrize("statement", FORMS.values(), ids=FORMS.keys())
def test_the_database_refuses_to_change_or_delete_entries(app, statement):
    """Every statement form that could change or remove a row, REPLACE included (it
    deletes without a DELETE trigger unless recursive triggers are on)."""
    make_team()
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action)) == "team:create"


@pytest.mark.postgres_only
def test_postgresql_refuses_truncate(app):
    make_team()
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE audit_entry"))
    db.session.rollback()


def test_verify_command_passes_on_an_intact_record(runner, app):
    make_review(state="approved", answers=[("pager-load", "met", "2 pages a week")])
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_verify_finds_an_entry_altered_behind_the_apps_back(runner, app):
    make_team()
    make_team()
    db.session.commit()
    drop_triggers()
    db.session.execute(text(
        "UPDATE audit_entry SET actor_name = 'Mallory' WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "audit entry 2: content altered (team:create)" in result.output


def test_verify_finds_a_deleted_entry(runner, app):
    for _ in range(3):
        make_team()
    db.session.commit()
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "audit entry 3: expected entry 2 here: entries missing" in result.output
    assert "audit entry 3: does not follow the entry before it" in result.output


def test_verify_finds_a_rehashed_entry_that_breaks_the_chain(runner, app):
    """Recomputing a tampered entry's own hash still breaks the link to the next one."""
    make_team()
    make_team()
    db.session.commit()
    drop_triggers()
    first = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == 1))
    first.actor_name = "Mallory"
    first.hash = audit.entry_hash(first)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "audit entry 2: does not follow the entry before it" in result.output


def test_verify_finds_answers_changed_after_sign_off(runner, app):
    review = make_review(state="approved", answers=[("pager-load", "met", "2 pages a week")])
    db.session.commit()
    db.session.execute(text("UPDATE answer SET evidence = 'never measured'"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"review {review.id}: answers changed after sign-off" in result.output
    assert db.session.scalar(select(Answer.evidence)) == "never measured"


def test_concurrent_appends_never_fork_the_chain(make_app):
    """Writers in parallel threads, each with its own connection and transaction."""
    app = make_app()
    outcomes = []

    def write(n):
        with app.app_context():
            try:
                operations.create_team(slug=f"team-{n}", name=f"Team {n}")
                db.session.commit()
                outcomes.append("ok")
            except DBAPIError as exc:  # SQLite may refuse a write whose snapshot went stale
                db.session.rollback()
                outcomes.append(type(exc.orig).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        seqs = db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
        assert seqs == list(range(1, outcomes.count("ok") + 1))
        assert audit.verify() == []
        assert outcomes.count("ok") >= 1
        if db.engine.dialect.name == "postgresql":
            assert outcomes == ["ok"] * 12
        else:  # SQLite refuses a stale writer outright; it never forks the chain
            assert set(outcomes) <= {"ok", "OperationalError"}


def test_verify_finds_a_sign_off_rehashed_behind_the_apps_back(runner, app):
    """Rewriting the answers and recomputing the hashes on the review and the decision is
    still caught: the record's review:approve entry holds the hash that was signed."""
    review = make_review(state="approved", answers=[("pager-load", "met", "2 pages a week")])
    db.session.commit()
    db.session.execute(text("UPDATE answer SET evidence = 'never measured'"))
    db.session.commit()
    db.session.expire_all()
    forged = review_content_hash(db.session.get(Review, review.id))
    db.session.execute(text("UPDATE review SET content_hash = :h"), {"h": forged})
    db.session.execute(text("UPDATE decision SET content_hash = :h"), {"h": forged})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert (f"review {review.id}: the signed-off content is not the content in the record's "
            "review:approve entry") in result.output


def test_verify_finds_a_sign_off_given_to_another_consultant(runner, app):
    review = make_review(state="approved", answers=[("pager-load", "met", "ok")])
    other = make_user(roles=("consultant",))
    db.session.commit()
    db.session.execute(text("UPDATE decision SET consultant_id = :c"), {"c": other.id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"review {review.id}: the sign-off's consultant or comment differs" in result.output


def handed_back_service():
    """A service launched, handed off and handed back through the real commands, with
    facts recorded in two batches."""
    from datetime import timedelta

    from readiness.commands.facts import record_facts
    from readiness.commands.lifecycle import transition
    from readiness.domain.facts import FactInput
    from readiness.models import utcnow

    from ..factories import make_checklist_version, make_service, make_trial

    team = make_team()
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    service = make_service(team=team)
    for stage in ("launch", "handoff"):
        make_review(service=service, state="approved",
                    checklist_version=make_checklist_version(
                        checklist_id=f"{stage}-review", stage=stage))
    now = utcnow()
    record_facts(service, [FactInput("pages_per_week", 9.0, now - timedelta(days=1), "pd")],
                 actor=lead)
    record_facts(service, [FactInput("pages_per_week", 12.0, now, "pd"),
                           FactInput("slo_attainment_pct", 98.5, now, "slo")], actor=lead)
    transition(service, "launch", actor=lead, now=utcnow() - timedelta(days=10))
    make_trial(service)  # Ops shadowed its pager for a week
    transition(service, "handoff", actor=lead)
    transition(service, "handback", actor=lead, reason="12 pages a week",
               return_conditions="Two pages a week for a month.")
    db.session.commit()
    return service


@pytest.mark.parametrize(("statement", "problem"), [
    ("UPDATE management_event SET reason = 'a quiet week' WHERE kind = 'handback'",
     "management event 3 (handback): changed after it was recorded"),
    ("UPDATE management_event SET return_conditions = '' WHERE kind = 'handback'",
     "management event 3 (handback): changed after it was recorded"),
    ("UPDATE fact SET value = 2 WHERE value = 12",
     "a value, time or source changed after they were recorded"),
    ("UPDATE fact SET source = 'someone' WHERE value = 9",
     "a value, time or source changed after they were recorded"),
    ("DELETE FROM fact WHERE value = 98.5", "1 stored, 2 recorded"),
    ("DELETE FROM fact WHERE value = 9", "0 stored, 1 recorded"),
    ("UPDATE fact SET source = 'pd ' WHERE value = 12", "changed after they"),
])
def test_verify_finds_events_and_facts_changed_behind_the_apps_back(runner, app, statement,
                                                                     problem):
    """Issue 18, finding 15: what the record's pages show is covered, not only the chain."""
    handed_back_service()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    db.session.execute(text(statement))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert problem in result.output


def test_facts_recorded_in_one_clock_moment_by_two_batches_verify_together(runner, app):
    from readiness.commands.facts import record_facts
    from readiness.domain.facts import FactInput
    from readiness.models import utcnow

    from ..factories import make_service

    service = make_service(team=make_team())
    now = utcnow()
    for name in ("pages_per_week", "slo_attainment_pct"):
        record_facts(service, [FactInput(name, 1.0, now, "")], actor=None, now=now)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_a_kept_head_finds_the_newest_entries_removed(runner, app):
    """Issue 18, finding 15: the chain alone cannot see its end cut off; the head an
    operator kept can."""
    for _ in range(3):
        make_team()
    db.session.commit()
    shown = runner.invoke(args=["audit", "verify", "--head"])
    assert shown.exit_code == 0
    head = shown.output.split("Head: ")[1].split()[0]
    assert head.startswith("3:") and len(head) == 66
    assert runner.invoke(args=["audit", "verify", "--expect-head", head]).exit_code == 0

    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 3"))
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # the chain alone: intact
    result = runner.invoke(args=["audit", "verify", "--expect-head", head])
    assert result.exit_code == 1
    assert "audit entry 3: missing: the record ends before the head kept earlier" in (
        result.output)
    bad = runner.invoke(args=["audit", "verify", "--expect-head", "3:abc"])
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output
