"""Waivers as the gate, the lifecycle guards and the pages read them."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, select

from ..domain import checklists, lifecycle
from ..domain.waivers import WaiverState
from ..extensions import db
from ..models import ChecklistVersion, Review, Service, Team, Waiver
from .worklists import COUNT_BOUND, Worklist, count_upto

# The dashboard's list: waivers that run out within this.
EXPIRING_WINDOW = timedelta(days=30)


def waiver_terms(review_ids):
    """{review id: (lifecycle.WaiverTerm, ...)} of the granted waivers of approved reviews
    `review_ids`, soonest expiry first (reviews without any are left out). One statement;
    the checklist's content (for the items' titles) is read only where there are some."""
    ids = [i for i in review_ids if i is not None]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Waiver.review_id, Waiver.item_id, Waiver.expires_on, ChecklistVersion.content)
        .join(Review, Review.id == Waiver.review_id)
        .join(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
        .where(Waiver.review_id.in_(ids), Waiver.state == WaiverState.GRANTED,
               Review.state == "approved")
        .order_by(Waiver.review_id, Waiver.expires_on, Waiver.item_id)).all()
    found = {}
    for review_id, item_id, expires_on, content in rows:
        titles = {item["id"]: item["title"] for _, item in checklists.items_of(content)}
        found.setdefault(review_id, []).append(
            lifecycle.WaiverTerm(item_id, titles.get(item_id, item_id), expires_on))
    return {review_id: tuple(terms) for review_id, terms in found.items()}


def with_waivers(approval):
    """`approval` (a lifecycle.Approval or None) with the waivers it leans on."""
    if approval is None:
        return None
    terms = waiver_terms([approval.review_id]).get(approval.review_id, ())
    return lifecycle.Approval(approval.review_id, approval.created_at, approval.approved_at,
                              approval.valid_for_days, terms)


@dataclass(frozen=True)
class ExpiringWaiver:
    waiver_id: int
    review_id: int
    item_id: str
    expires_on: date
    slug: str
    name: str
    team: str


def _is_current_approval():
    """SQL: the waiver's review is still its service's latest approval of that checklist
    (a newer approval, with its own waivers or none, replaces it)."""
    newer, newer_version = Review.__table__.alias("newer"), ChecklistVersion.__table__.alias(
        "newer_version")
    this_version = ChecklistVersion.__table__.alias("this_version")
    return ~select(newer.c.id).select_from(
        newer.join(newer_version, newer_version.c.id == newer.c.checklist_version_id)
        .join(this_version, this_version.c.id == Review.checklist_version_id)
    ).where(newer.c.service_id == Review.service_id, newer.c.state == "approved",
            newer_version.c.checklist_id == this_version.c.checklist_id,
            newer.c.approved_at > Review.approved_at).correlate(Review).exists()


def expiring_waivers(today, limit=10):
    """Granted waivers of current approvals of live or developing services that expire
    within EXPIRING_WINDOW of `today` (not yet expired), soonest first, as a Worklist.

    A range of ix_waiver_state_expires; each row's "still current" test is one seek."""
    query = (select(Waiver.id, Waiver.review_id, Waiver.item_id, Waiver.expires_on,
                    Service.slug, Service.name, Team.name.label("team"))
             .join(Review, Review.id == Waiver.review_id)
             .join(Service, Service.id == Review.service_id)
             .join(Team, Team.id == Service.team_id)
             .where(Waiver.state == WaiverState.GRANTED, Waiver.expires_on > today,
                    Waiver.expires_on <= today + EXPIRING_WINDOW,
                    and_(Review.state == "approved", Service.state != "retired"),
                    _is_current_approval())
             .order_by(Waiver.expires_on, Waiver.id))
    items = [ExpiringWaiver(*row) for row in db.session.execute(query.limit(limit))]
    if len(items) < limit:
        return Worklist(items, len(items), False)
    total, capped = count_upto(query, COUNT_BOUND)
    return Worklist(items, total, capped)
