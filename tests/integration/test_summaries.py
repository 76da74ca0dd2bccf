"""The figures the database keeps (readiness.summaries) equal their plain definitions:
after the demo, and after random sequences of the writes that could move them (the
generator's are checked in test_bench)."""

import random
import statistics
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, update

from readiness.domain.charts import cycle_tenths
from readiness.extensions import db
from readiness.models import (
    EVENT_KINDS,
    SERVICE_STATES,
    EventMonthCount,
    ManagementEvent,
    Review,
    ReviewCycleCount,
    ReviewStateCount,
    Service,
    utcnow,
)
from readiness.queries.dashboard import (
    median_cycle_days_per_month,
    month_starts,
    reviews_waiting_by_stage,
    services_by_state,
)

from ..factories import SMALL_CHECKLIST, make_checklist_version, make_service, make_team

SEEDS = range(6)


def counted_by_state():
    """The plain definition, written out here: every service, counted by its state."""
    counts = dict.fromkeys(SERVICE_STATES, 0)
    for state in db.session.scalars(select(Service.state)):
        counts[state] += 1
    return counts


def reviews_counted():
    """{(stage, state): reviews} by reading every review: the plain definition."""
    counts = {}
    for review in db.session.scalars(select(Review)):
        key = (review.checklist_version.stage, review.state)
        counts[key] = counts.get(key, 0) + 1
    return counts


def reviews_kept():
    return {(stage, state): n for stage, state, n in db.session.execute(
        select(ReviewStateCount.stage, ReviewStateCount.state, ReviewStateCount.reviews))
        if n}


def events_counted():
    """{(month, kind): events} by reading every management event, its month in UTC."""
    counts = {}
    for event in db.session.scalars(select(ManagementEvent)):
        key = (event.created_at.astimezone(UTC).strftime("%Y-%m"), event.kind)
        counts[key] = counts.get(key, 0) + 1
    return counts


def events_kept():
    return {(month, kind): n for month, kind, n in db.session.execute(
        select(EventMonthCount.month, EventMonthCount.kind, EventMonthCount.events))}


def test_the_demo_keeps_the_counts(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert services_by_state() == counted_by_state()
    assert sum(services_by_state().values()) >= 7
    assert reviews_kept() == reviews_counted() and len(reviews_kept()) >= 5
    assert events_kept() == events_counted() and len(events_kept()) >= 3
    assert kept_launch_approvals() == latest_launch_approvals()
    waiting = reviews_waiting_by_stage()
    assert waiting == {stage: reviews_counted().get((stage, "submitted"), 0)
                       for stage in ("launch", "handoff")}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_events_keep_the_counts_by_month(app, seed):
    """Management events at random moments, some in a zone other than UTC and near the
    turn of a month: each counted in its UTC month."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    service = make_service()
    db.session.flush()
    turn = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(40):
        moment = turn + timedelta(hours=rng.uniform(-48, 48), days=31 * rng.randint(-3, 3))
        zone = timezone(timedelta(hours=rng.choice((0, 2, -5))))
        db.session.add(ManagementEvent(service_id=service.id, kind=rng.choice(EVENT_KINDS),
                                       from_state="development", to_state="self_managed",
                                       created_at=moment.astimezone(zone)))
        db.session.flush()
    db.session.commit()
    assert events_kept() == events_counted() and len(events_kept()) > 5
    months = {month for month, _ in events_kept()}
    assert len(months) > 3


@pytest.mark.parametrize("seed", SEEDS)
def test_random_writes_keep_the_counts(app, seed):
    """Creating, moving (one by one and many in one statement, to the same state too),
    deleting, and a transaction rolled back: the kept counts follow every one."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    teams = [make_team() for _ in range(2)]
    services = []
    for step in range(60):
        action = rng.choice(["create", "create", "move", "move", "move_many", "delete",
                             "rollback"])
        if action == "create" or not services:
            services.append(make_service(team=rng.choice(teams), tier=rng.choice((1, 2)),
                                         state=rng.choice(SERVICE_STATES)))
        elif action == "move":
            rng.choice(services).state = rng.choice(SERVICE_STATES)
        elif action == "move_many":
            db.session.execute(update(Service).where(Service.tier == rng.choice((1, 2)))
                               .values(state=rng.choice(SERVICE_STATES)))
            db.session.expire_all()
        elif action == "delete":
            gone = services.pop(rng.randrange(len(services)))
            db.session.execute(delete(Service).where(Service.id == gone.id))
            db.session.expire_all()
        else:  # changes that never commit leave the counts as they were
            db.session.commit()
            before = services_by_state()
            rng.choice(services).state = rng.choice(SERVICE_STATES)
            make_service(team=teams[0], state="ops_managed")
            db.session.flush()
            db.session.rollback()
            assert services_by_state() == before
            services = db.session.scalars(select(Service)).all()
            continue
        db.session.flush()
        assert services_by_state() == counted_by_state(), f"after step {step}: {action}"
    db.session.commit()
    assert services_by_state() == counted_by_state()


def latest_launch_approvals():
    """The plain definition, written out here: per service, the approved review of a
    launch checklist with the greatest (approved_at, id), as (id, approved_at, days)."""
    latest = {}
    for review in db.session.scalars(select(Review).where(Review.state == "approved")):
        if review.checklist_version.stage != "launch":
            continue
        known = latest.get(review.service_id)
        if known is None or (review.approved_at, review.id) > (known.approved_at, known.id):
            latest[review.service_id] = review
    return {service_id: (r.id, r.approved_at, r.checklist_version.valid_for_days)
            for service_id, r in latest.items()}


def kept_launch_approvals():
    return {service_id: (review_id, approved_at, days)
            for service_id, review_id, approved_at, days in db.session.execute(
                select(Service.id, Service.launch_review_id, Service.launch_approved_at,
                       Service.launch_valid_days).where(Service.launch_review_id.is_not(None)))}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_approvals_keep_each_services_latest_launch_approval(app, seed):
    """Reviews of launch and handoff checklists, approved when inserted or later (as
    the app approves), in any order of time, some at the same moment; drafts and
    withdrawn ones: each service carries its latest launch approval."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    now = utcnow()
    versions = [make_checklist_version(version=n, content=dict(SMALL_CHECKLIST,
                                                               valid_for_days=days))
                for n, days in ((1, 365), (2, 90), (3, None))]
    versions.append(make_checklist_version("handoff-readiness", stage="handoff"))
    team = make_team()
    services = [make_service(team=team) for _ in range(8)]
    moments = [now - timedelta(days=rng.randint(0, 50)) for _ in range(6)]
    reviews = []
    for step in range(50):
        unapproved = [r for r in reviews if r.state != "approved"]  # approved: kept for ever
        if unapproved and rng.random() < 0.1:  # the counts forget a deleted review
            gone = rng.choice(unapproved)
            reviews.remove(gone)
            db.session.delete(gone)
        elif reviews and rng.random() < 0.4:  # a review approved after it was written
            review = rng.choice(reviews)
            if review.state != "approved":
                review.state = rng.choice(("approved", "withdrawn"))
                review.approved_at = rng.choice(moments) if review.state == "approved" \
                    else None
        else:
            state = rng.choice(("approved", "draft", "submitted"))
            review = Review(service=rng.choice(services), state=state,
                            checklist_version=rng.choice(versions),
                            approved_at=rng.choice(moments) if state == "approved" else None)
            db.session.add(review)
            reviews.append(review)
        db.session.flush()
        assert kept_launch_approvals() == latest_launch_approvals(), f"after step {step}"
        assert reviews_kept() == reviews_counted(), f"after step {step}"
    db.session.commit()
    assert kept_launch_approvals() == latest_launch_approvals()
    assert kept_launch_approvals()


def cycles_counted():
    """{(month, tenths): approvals}: each approved review's time from first submission to
    approval in whole seconds (each moment rounded down to its second), in tenths of a day
    kept to the domain's steps, by the UTC month of approval: the plain definition."""
    counts = {}
    for review in db.session.scalars(select(Review).where(Review.state == "approved")):
        if review.first_submitted_at is None or review.approved_at is None:
            continue
        seconds = int(review.approved_at.timestamp()) - int(review.first_submitted_at.timestamp())
        key = (review.approved_at.astimezone(UTC).strftime("%Y-%m"), cycle_tenths(seconds))
        counts[key] = counts.get(key, 0) + 1
    return counts


def cycles_kept():
    return {(month, tenths): n for month, tenths, n in db.session.execute(
        select(ReviewCycleCount.month, ReviewCycleCount.tenths, ReviewCycleCount.reviews))}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_approvals_keep_the_review_cycle_counts_and_the_chart(app, seed):
    """Reviews approved when written or later, cycles of exact tenths of a day and of
    odd microseconds, approvals near the turn of a month: the kept counts and the
    chart's medians are those of the reviews themselves."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    now = utcnow()
    version = make_checklist_version()
    service = make_service()
    pending = []
    for _ in range(60):
        approved_at = now - timedelta(days=rng.choice((0, 30, 61, 95, 400)),
                                      seconds=rng.randint(0, 86400 * 3))
        cycle = rng.choice((timedelta(days=rng.randint(0, 40) / 10),
                            timedelta(seconds=rng.randint(0, 86400 * 20),
                                      microseconds=rng.randint(0, 999_999)),
                            timedelta(days=rng.choice((9.9, 10, 99.9, 100, 150.05)),
                                      seconds=rng.choice((-1, 0, 1))),
                            timedelta(seconds=rng.randint(0, 86400 * 200))))
        first = approved_at - cycle
        if rng.random() < 0.5:
            db.session.add(Review(service=service, checklist_version=version, state="approved",
                                  first_submitted_at=first, approved_at=approved_at))
        else:
            review = Review(service=service, checklist_version=version, state="submitted",
                            first_submitted_at=first)
            db.session.add(review)
            pending.append((review, approved_at))
        db.session.flush()
    for review, approved_at in pending:
        review.state, review.approved_at = "approved", approved_at
        db.session.flush()
    db.session.commit()
    assert cycles_kept() == cycles_counted()

    by_month = {}
    for (month, tenths), n in cycles_counted().items():
        by_month.setdefault(month, []).extend([tenths] * n)
    chart = dict(zip(month_keys(now), (v for _, v in median_cycle_days_per_month(now)),
                     strict=True))
    expected = {month: statistics.median(by_month[month]) / 10 if month in by_month else None
                for month in chart}
    assert chart == expected and sum(v is not None for v in chart.values()) >= 3


def month_keys(now):
    return [f"{year:04d}-{month:02d}" for year, month in month_starts(now)]
