"""Waivers as the gate, the lifecycle guards and the pages read them."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, true

from ..domain import checklists, lifecycle
from ..domain.waivers import WaiverState
from ..extensions import db
from ..models import ChecklistVersion, Review, Service, Team, Waiver
from . import worklists
from .worklists import Worklist, count_upto

# The dashboard's list: waivers that run out within this.
EXPIRING_WINDOW = timedelta(days=30)


def waiver_terms(review_ids):
    """{review id: (lifecycle.WaiverTerm, ...)} of the granted waivers of the approved
    reviews `review_ids` (callers pass approvals), soonest expiry first; reviews without
    any are left out. One statement."""
    ids = [i for i in review_ids if i is not None]
    if not ids:
        return {}
    # By review (ix_waiver_review_id); the state is tested here, so that no plan walks
    # every granted waiver of the organisation by state instead.
    rows = db.session.execute(
        select(Waiver.review_id, Waiver.item_id, Waiver.expires_on, Waiver.state,
               ChecklistVersion.content)
        .join(Review, Review.id == Waiver.review_id)
        .join(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
        .where(Waiver.review_id.in_(ids))
        .order_by(Waiver.review_id, Waiver.expires_on, Waiver.item_id)).all()
    found = {}
    for review_id, item_id, expires_on, state, content in rows:
        if state != WaiverState.GRANTED:
            continue
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


def expiring_waivers(now, limit=10, offset=0):
    """Waivers in force (granted, on the service's latest approval of its stage, the
    service not retired) that expire within EXPIRING_WINDOW of `now`'s date (not yet
    expired), soonest first, as a Worklist: `limit` of them after the first `offset`.

    A range of ix_waiver_in_force_expires: Waiver.in_force is kept by
    commands.waivers.keep_in_force (held to this definition by tests/integration/
    test_waivers.py)."""
    today = now.date()
    query = (select(Waiver.id, Waiver.review_id, Waiver.item_id, Waiver.expires_on,
                    Service.slug, Service.name, Team.name.label("team"))
             .join(Review, Review.id == Waiver.review_id)
             .join(Service, Service.id == Review.service_id)
             .join(Team, Team.id == Service.team_id)
             .where(Waiver.in_force == true(), Waiver.expires_on > today,
                    Waiver.expires_on <= today + EXPIRING_WINDOW)
             .order_by(Waiver.expires_on, Waiver.id))
    page = query.offset(offset)
    items = [ExpiringWaiver(*row)
             for row in db.session.execute(page if limit is None else page.limit(limit))]
    # Always counted (up to the bound): the page takes the same statements at any size.
    total, capped = count_upto(query, max(worklists.COUNT_BOUND, offset + (limit or 0)))
    return Worklist(items, total, capped)
