"""How ready each of some services is, for a list: the share of required items done in
its current (open) review, else how long its launch approval counts. A fixed number of
statements for any number of services shown."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..domain import lifecycle, reviews
from ..extensions import db
from ..models import ChecklistVersion, Review, Service
from .facts import latest_facts
from .lifecycle import latest_approval_id
from .reviews import review_status
from .waivers import waiver_terms


@dataclass(frozen=True)
class Readiness:
    """What the list shows of one service: `kind` is "review" (done of total in review
    `review_id`), "approved" (until `until`, None: no expiry), "expired" or "none"."""

    kind: str
    review_id: int | None = None
    done: int = 0
    total: int = 0
    until: datetime | None = None
    # For "expired": True when a waiver the approval leans on expired (not the approval).
    by_waiver: bool = False

    @property
    def share(self):
        return self.done / self.total if self.total else 1.0


def readiness_of(service_ids, now):
    """{service id: Readiness} for the services `service_ids`."""
    ids = list(service_ids)
    if not ids:
        return {}
    # The services' reviews found service by service (their state tested here: a plan by
    # state would walk the organisation's open reviews), then the open ones loaded.
    open_ids = [review_id for review_id, state in db.session.execute(
        select(Review.id, Review.state).where(Review.service_id.in_(ids)))
        if state in reviews.OPEN_STATES]
    open_reviews = db.session.scalars(
        select(Review).where(Review.id.in_(open_ids))
        .options(selectinload(Review.answers), selectinload(Review.waivers),
                 joinedload(Review.checklist_version))
        .order_by(Review.created_at.desc(), Review.id.desc())).all()
    current = {}
    for review in open_reviews:  # the newest open review of each service
        current.setdefault(review.service_id, review)
    rows = db.session.execute(
        select(Service.id.label("service_id"), Review.id, Review.created_at,
               Review.approved_at, ChecklistVersion.valid_for_days)
        .select_from(Service)
        .join(Review, Review.id == latest_approval_id("launch"))
        .join(Review.checklist_version)
        .where(Service.id.in_(ids))).all()
    terms = waiver_terms([row.id for row in rows])
    approvals = {row.service_id: lifecycle.Approval(row.id, row.created_at, row.approved_at,
                                                    row.valid_for_days, terms.get(row.id, ()))
                 for row in rows}
    facts = latest_facts(list(current)) if current else {}
    found = {}
    for service_id in ids:
        review = current.get(service_id)
        approval = approvals.get(service_id)
        if review is not None:
            status = review_status(review, now, facts.get(service_id, {}))
            found[service_id] = Readiness("review", review.id, status.done, status.total)
        elif approval is not None:
            by_waiver = approval.is_valid(now) and approval.expired_waiver(now) is not None
            holds = approval.is_valid(now) and not by_waiver
            found[service_id] = Readiness("approved" if holds else "expired",
                                          approval.review_id, until=approval.holds_until(),
                                          by_waiver=by_waiver)
        else:
            found[service_id] = Readiness("none")
    return found
