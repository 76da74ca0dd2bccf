"""Reminders the worker writes into the record, each exactly once (its key is unique):
a launch approval or a waiver in force expiring in 30, 7 or 1 days, a review waiting
for a consultant more than 3 days, a new handback candidate, a live service starting to
need a launch re-review. Once in the record they are events like any
other (docs/notifications.md); and the worker's periodic turns (WorkerSchedule)."""

from datetime import timedelta

from sqlalchemy import select, update

from ..audit import AuditAction, Subject, record
from ..domain import notifications as rules
from ..domain.campaigns import DEADLINE_REMINDER_DAYS, deadline_reminder
from ..domain.waivers import expires_at
from ..extensions import db
from ..models import Campaign, ReminderSent, Review, Service, WorkerSchedule
from ..queries.campaigns import campaign_view
from ..queries.dashboard import expiring_launch_approvals
from ..queries.lifecycle import needing_rereview
from ..queries.waivers import expiring_waivers


def take_turn(name, every: timedelta, now) -> bool:
    """True when this worker should run the periodic job `name` now (it last ran `every`
    ago or never); the turn is taken with one conditional statement, so of several
    workers one runs it. The caller commits."""
    if db.session.get(WorkerSchedule, name) is None:
        db.session.add(WorkerSchedule(name=name, last_run_at=now))
        db.session.flush()
        return True
    return db.session.execute(
        update(WorkerSchedule).where(WorkerSchedule.name == name,
                                     WorkerSchedule.last_run_at <= now - every)
        .values(last_run_at=now).execution_options(synchronize_session=False)).rowcount == 1


def write_reminders(now):
    """Write the reminders that are due and not written yet; returns how many. The
    caller commits (the reminders and their keys together)."""
    due = []  # (key, action, subject, details)
    for approval in expiring_launch_approvals(now).items:
        days = rules.expiry_reminder((approval.expires_at - now) / timedelta(days=1))
        if days is not None:
            due.append((f"approval:{approval.review_id}:{days}",
                        AuditAction.REMINDER_APPROVAL_EXPIRING,
                        Subject("review", approval.review_id),
                        {"service": approval.slug, "expires_at": approval.expires_at,
                         "days": days}))
    waiting = db.session.execute(
        select(Review.id, Review.submitted_at).where(
            Review.state == "submitted", Review.submitted_at <= now - rules.REVIEW_WAITING)
        .order_by(Review.submitted_at)).all()
    for review_id, submitted_at in waiting:
        due.append((f"review:{review_id}:{submitted_at.isoformat()}",
                    AuditAction.REMINDER_REVIEW_WAITING, Subject("review", review_id),
                    {"submitted_at": submitted_at,
                     "days_waiting": (now - submitted_at).days}))
    failing = db.session.execute(
        select(Service.id, Service.slug, Service.handback_failing_from).where(
            Service.state == "ops_managed", Service.handback_failing_from <= now)
        .order_by(Service.handback_failing_from)).all()
    for service_id, slug, since in failing:
        due.append((f"handback:{service_id}:{since.isoformat()}",
                    AuditAction.REMINDER_HANDBACK_CANDIDATE, Subject("service", service_id),
                    {"service": slug, "failing_since": since}))
    for waiver in expiring_waivers(now, limit=None).items:
        days = rules.expiry_reminder((expires_at(waiver.expires_on) - now) / timedelta(days=1))
        if days is not None:
            due.append((f"waiver:{waiver.waiver_id}:{days}",
                        AuditAction.REMINDER_WAIVER_EXPIRING,
                        Subject("review", waiver.review_id),
                        {"service": waiver.slug, "waiver": waiver.waiver_id,
                         "item": waiver.item_id, "expires_on": waiver.expires_on.isoformat(),
                         "days": days}))
    for needing in needing_rereview(now).items:
        service = needing.service
        due.append((f"rereview:{service.id}:{service.rereview_from.isoformat()}",
                    AuditAction.REMINDER_REREVIEW_NEEDED, Subject("service", service.id),
                    {"service": service.slug, "reasons": needing.reasons,
                     "since": service.rereview_from}))
    due.extend(_campaign_reminders(now))
    written = set()
    keys = [key for key, *_ in due]
    for start in range(0, len(keys), 500):
        written.update(db.session.scalars(select(ReminderSent.key).where(
            ReminderSent.key.in_(keys[start:start + 500]))))
    count = 0
    for key, action, subject, details in due:
        if key in written:
            continue
        db.session.add(ReminderSent(key=key, sent_at=now))
        record(action, actor=None, subject=subject, **details)
        count += 1
    return count


# A campaign is reminded of until this long after its deadline.
CAMPAIGN_REMINDED_AFTER = timedelta(days=7)


def _campaign_reminders(now):
    """Deadline reminders (14, 7, 1 days before, and once it has passed) to each owning
    team with services not done, one per team and threshold, about the team (so a
    team's subscription gets it)."""
    today = now.date()
    due = []
    for campaign in db.session.scalars(select(Campaign).where(
            Campaign.deadline >= today - CAMPAIGN_REMINDED_AFTER,
            Campaign.deadline <= today + timedelta(days=max(DEADLINE_REMINDER_DAYS)))):
        days = deadline_reminder(today, campaign.deadline)
        if days is None:
            continue
        by_team = {}
        for service in campaign_view(campaign, now).remaining:
            by_team.setdefault((service.team_id, service.team_slug), []).append(service.slug)
        for (team_id, team_slug), slugs in sorted(by_team.items()):
            due.append((f"campaign:{campaign.id}:{team_id}:{days}",
                        AuditAction.REMINDER_CAMPAIGN_DEADLINE, Subject("team", team_id),
                        {"campaign": campaign.id, "title": campaign.title,
                         "team": team_slug, "deadline": campaign.deadline.isoformat(),
                         "days": days, "services": slugs[:100],
                         "not_done": len(slugs)}))
    return due
