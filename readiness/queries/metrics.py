"""What GET /metrics reports from the database, read at each scrape (so every app server
and worker reports the same): kept figures and index ranges, never a row per service."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..domain import lifecycle
from ..domain.checklists import STAGES
from ..domain.reviews import REVIEW_STATES
from ..extensions import db
from ..models import (
    ChecklistVersion,
    Delivery,
    DeliveryCount,
    ReviewStateCount,
    Service,
    ServiceStateCount,
)
from .dashboard import EXPIRY_WINDOW
from .worklists import count_upto

DELIVERY_OUTCOMES = ("delivered", "retried", "failed", "cancelled")


@dataclass(frozen=True)
class Figures:
    services: dict[str, int]  # by state, every state
    reviews: dict[tuple[str, str], int]  # by (stage, state), every pair
    handback_candidates: int
    approvals_expiring: int  # live services whose launch approval expires within 30 days
    approvals_expired: int  # … or already has
    deliveries: dict[str, int]  # attempts by outcome
    delivery_backlog: int  # deliveries waiting to be sent (or sent again)


def figures(now: datetime) -> Figures:
    services = dict.fromkeys(map(str, lifecycle.STATES), 0)
    services.update(db.session.execute(
        select(ServiceStateCount.state, ServiceStateCount.services)).all())
    reviews = {(stage, str(state)): 0 for stage in STAGES for state in REVIEW_STATES}
    reviews.update({(stage, state): n for stage, state, n in db.session.execute(
        select(ReviewStateCount.stage, ReviewStateCount.state, ReviewStateCount.reviews))})
    candidates, _ = count_upto(select(Service.id).where(
        Service.state == "ops_managed", Service.handback_failing_from <= now), None)
    expiring, expired = _approvals(now)
    deliveries = dict.fromkeys(DELIVERY_OUTCOMES, 0)
    deliveries.update(db.session.execute(
        select(DeliveryCount.outcome, DeliveryCount.deliveries)).all())
    backlog, _ = count_upto(select(Delivery.id).where(Delivery.state == "pending"), None)
    return Figures(services, reviews, candidates, expiring, expired, deliveries, backlog)


def _approvals(now):
    """(expiring within EXPIRY_WINDOW, expired) launch approvals of live services: a
    count over ix_service_launch_expiry per live state and validity, as the dashboard's
    list (queries.dashboard.expiring_launch_approvals) reads it."""
    validities = db.session.scalars(
        select(ChecklistVersion.valid_for_days).distinct()
        .where(ChecklistVersion.stage == "launch", ChecklistVersion.valid_for_days.is_not(None))
    ).all()
    expiring = expired = 0
    for state in lifecycle.LIVE_STATES:
        for days in validities:
            valid = timedelta(days=days)
            in_range = select(Service.id).where(Service.state == state,
                                                Service.launch_valid_days == days)
            expired += count_upto(in_range.where(Service.launch_approved_at <= now - valid),
                                  None)[0]
            expiring += count_upto(in_range.where(
                Service.launch_approved_at > now - valid,
                Service.launch_approved_at <= now + EXPIRY_WINDOW - valid), None)[0]
    return expiring, expired
