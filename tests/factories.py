"""Plain functions that make model objects with sensible defaults, through the operations."""

import itertools
from datetime import timedelta

from readiness import commands as operations
from readiness.audit import AuditAction, record
from readiness.commands.waivers import keep_in_force
from readiness.commands.worklists import refresh_worklists
from readiness.domain.hashing import content_hash
from readiness.domain.reviews import review_content_hash
from readiness.extensions import db
from readiness.models import Answer, ChecklistVersion, Decision, Review, utcnow

_counter = itertools.count(1)


def make_team(slug=None, name=None):
    n = next(_counter)
    return operations.create_team(slug=slug or f"team-{n}", name=name or f"Team {n}")


def make_user(email=None, name=None, roles=(), teams=(), password="correct horse"):  # noqa: S107
    n = next(_counter)
    return operations.create_user(
        email=email or f"user{n}@example.com", name=name or f"User {n}", password=password,
        roles=roles, team_slugs=[team.slug for team in teams],
    )


def make_service(slug=None, name=None, team=None, tier=2, state="development"):
    n = next(_counter)
    service = operations.create_service(
        slug=slug or f"service-{n}", name=name or f"Service {n}", team=team or make_team(),
        tier=tier,
    )
    service.state = state
    if state != "development":  # as a lifecycle move would, keep the worklists' moments
        refresh_worklists([service.id])
    return service


SMALL_CHECKLIST = {
    "id": "launch-readiness", "title": "Launch Readiness Review", "stage": "launch",
    "version": 1, "valid_for_days": 365, "description": "Before **real traffic**.",
    "sections": [
        {"id": "alerting", "title": "Pager alerts", "description": "", "items": [
            {"id": "pager-load", "title": "Pager load is supportable",
             "guidance": "Show *a week* of pages.", "required": True, "evidence": "text",
             "check": None},
            {"id": "alert-runbooks", "title": "Alerts link to runbooks", "guidance": "",
             "required": True, "evidence": "link", "check": None},
        ]},
        {"id": "hygiene", "title": "Production hygiene", "description": "", "items": [
            {"id": "chaos-drill", "title": "A failure drill was run", "guidance": "",
             "required": False, "evidence": "text", "check": None},
        ]},
    ],
}


def make_checklist_version(checklist_id="launch-readiness", version=1, stage="launch",
                           content=None):
    content = dict(content or SMALL_CHECKLIST, id=checklist_id, version=version, stage=stage)
    row = ChecklistVersion(checklist_id=checklist_id, version=version, stage=stage,
                           title=content["title"], valid_for_days=content.get("valid_for_days"),
                           content=content, content_hash=content_hash(content),
                           source_path="test.yaml")
    db.session.add(row)
    return row


def make_review(service=None, checklist_version=None, state="draft", answers=()):
    """A review with `answers` as (item_id, status, evidence) tuples.

    state="approved" adds a consultant's sign-off with the content hash, as approval does.
    """
    review = Review(service=service or make_service(),
                    checklist_version=checklist_version or make_checklist_version(),
                    state=state)
    if state in ("submitted", "changes_requested", "approved"):
        review.submitted_at = review.first_submitted_at = utcnow()
    for item_id, status, evidence in answers:
        review.answers.append(Answer(item_id=item_id, status=status, evidence=evidence))
    db.session.add(review)
    db.session.flush()
    if state == "approved":
        consultant = make_user(roles=("consultant",))
        review.content_hash = review_content_hash(review)
        review.approved_at = utcnow()
        decision = Decision(review=review, consultant=consultant, verdict="approve",
                            content_hash=review.content_hash)
        db.session.add(decision)
        record(AuditAction.REVIEW_APPROVE, actor=consultant, subject=review,
               content_hash=review.content_hash)
        refresh_worklists([review.service_id])  # as decide_review does
        keep_in_force(review.service_id)
    return review


def make_trial(service, *, ended_days_ago=1, days=7, outcome="passed", actor=None):
    """A pager trial of `service` (self-managed), as an ops lead records it."""
    from readiness.commands.pager import record_trial
    from readiness.domain.pager import TrialInput

    ended = utcnow().date() - timedelta(days=ended_days_ago)
    return record_trial(service, TrialInput(ended - timedelta(days=days), ended, "Lee Navarro",
                                            3, 3, outcome, ""), actor=actor)


def on_the_demo_as(login, email):
    """The demo loaded, and the test client signed in as one of its people."""
    from sqlalchemy import select

    from readiness.cli.demo import load_demo
    from readiness.models import User

    load_demo()
    db.session.commit()
    login(db.session.scalar(select(User).where(User.email == email)), password="demo")
