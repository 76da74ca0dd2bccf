"""Reminders written into the record by the worker, each exactly once."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from readiness.cli.demo import load_demo
from readiness.commands import reminders
from readiness.domain.notifications import expiry_reminder
from readiness.extensions import db
from readiness.models import AuditEntry, Review, Service, utcnow
from readiness.queries.dashboard import expiring_launch_approvals
from readiness.queries.lifecycle import needing_rereview
from readiness.queries.waivers import expiring_waivers


@pytest.mark.parametrize(("days_left", "expected"), [
    (45, None), (30.0001, None), (30, 30), (8, 30), (7, 7), (1.5, 7), (1, 1), (0.01, 1),
    (0, None), (-3, None)])
def test_the_nearest_threshold_crossed(days_left, expected):
    assert expiry_reminder(days_left) == expected


def reminders_in_record():
    return db.session.execute(select(AuditEntry.action, AuditEntry.subject_id).where(
        AuditEntry.action.like("reminder:%")).order_by(AuditEntry.seq)).all()


def test_each_reminder_is_written_once(app):
    load_demo()
    db.session.commit()
    now = utcnow() + timedelta(days=4)  # the demo's submitted review has waited 4 days
    written = reminders.write_reminders(now)
    db.session.commit()
    found = reminders_in_record()
    assert written == len(found) > 0
    kinds = {action for action, _ in found}
    # The demo has an approval expiring within 30 days, a review waiting for a
    # consultant (more than 3 days by then), a handback candidate, a waiver in force
    # expiring within 30 days and services needing a launch re-review.
    assert kinds == {"reminder:approval_expiring", "reminder:review_waiting",
                     "reminder:handback_candidate", "reminder:waiver_expiring",
                     "reminder:rereview_needed"}
    expiring = {w.review_id for w in expiring_waivers(now, None).items}
    assert sorted(int(i) for a, i in found if a == "reminder:waiver_expiring") == sorted(
        expiring) != []
    needing = {n.service.id for n in needing_rereview(now).items}
    assert sorted(int(i) for a, i in found if a == "reminder:rereview_needed") == sorted(
        needing) != []
    waiting = db.session.scalars(select(Review.id).where(
        Review.state == "submitted", Review.submitted_at <= now - timedelta(days=3))).all()
    assert sorted(int(i) for a, i in found if a == "reminder:review_waiting") == sorted(waiting)
    candidates = db.session.scalars(select(Service.id).where(
        Service.state == "ops_managed", Service.handback_failing_from <= now)).all()
    assert sorted(int(i) for a, i in found if a == "reminder:handback_candidate") == sorted(
        candidates)
    assert reminders.write_reminders(now + timedelta(minutes=5)) == 0  # nothing twice
    db.session.commit()
    assert reminders_in_record() == found


def test_an_expiring_approval_is_reminded_at_30_7_and_1_days(app):
    load_demo()
    db.session.commit()
    now = utcnow()
    expiring = next(e for e in expiring_launch_approvals(now).items if not e.has_expired)
    days = []
    for left in (40, 29, 20, 6, 5, 0.5, 0.2, -1):
        at = expiring.expires_at - timedelta(days=left)
        reminders.write_reminders(at)
        db.session.commit()
        days = [e.changes["days"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reminder:approval_expiring",
                                     AuditEntry.subject_id == str(expiring.review_id))
            .order_by(AuditEntry.seq))]
    assert days == [30, 7, 1]


def test_one_worker_takes_each_turn(app):
    now = utcnow()
    assert reminders.take_turn("job", timedelta(minutes=1), now)
    db.session.commit()
    assert not reminders.take_turn("job", timedelta(minutes=1), now + timedelta(seconds=30))
    assert reminders.take_turn("job", timedelta(minutes=1), now + timedelta(minutes=1))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(
        select(AuditEntry.id).where(AuditEntry.action.like("reminder:%")).subquery())) == 0
