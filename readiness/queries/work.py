"""An ops lead's queue on My work: what waits for an ops lead to act."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ..domain import lifecycle
from ..extensions import db
from ..models import Review, Service, Team, Waiver
from .lifecycle import latest_approval_id
from .worklists import Worklist, count_upto

# Which transition an approved review of each stage waits for, from which state.
WAITING_FOR = {"launch": "development", "handoff": "self_managed"}


@dataclass(frozen=True)
class Ready:
    """A service whose approved review waits for an ops lead to launch or accept it."""

    slug: str
    name: str
    team: str
    review_id: int
    approved_at: datetime
    expires_at: datetime | None


def ready_for(transition, now, limit=None):
    """Services an ops lead may move by `transition` ("launch" or "handoff") now, as a
    Worklist: the first `limit` (all when None), the approval that runs out soonest
    first.

    Each service keeps from and until when its next move is allowed on its approval
    (commands.worklists, decided by domain.lifecycle.allowed_window, as for the button on
    the service page), so the list is a range of ix_service_ready.
    """
    waiting = (select(Service.slug, Service.name, Team.name.label("team"), Review.id,
                      Review.approved_at, Service.ready_until)
               .select_from(Service).join(Service.team)
               .join(Review, Review.id == latest_approval_id(transition))
               .where(Service.state == WAITING_FOR[transition], Service.ready_until > now,
                      or_(Service.ready_from.is_(None), Service.ready_from <= now))
               .order_by(Service.ready_until, Service.name, Service.id))
    rows = db.session.execute(waiting if limit is None else waiting.limit(limit)).all()
    total, capped = ((len(rows), False) if limit is None or len(rows) < limit
                     else count_upto(waiting))
    return Worklist([Ready(row.slug, row.name, row.team, row.id, row.approved_at,
                           None if row.ready_until == lifecycle.FOREVER else row.ready_until)
                     for row in rows], total, capped)


def team_reviews(team_ids, limit, options=()):
    """([the first `limit` open reviews of the teams' services, drafts first, then
    oldest], how many there are).

    Found service by service (ix_review_service_state_approved): ordered or joined in
    one statement, SQLite walks every open review of the organisation by state instead.
    The teams' open reviews are read (their cost is the teams'), then the shown ones
    loaded with `options`.
    """
    if not team_ids:
        return [], 0
    mine = select(Review.id, Review.state, Review.created_at).where(
        Review.service_id.in_(select(Service.id).where(Service.team_id.in_(team_ids))),
        Review.state.in_(("draft", "changes_requested")))
    found = db.session.execute(mine).all()
    first = sorted(found, key=lambda r: (r.state != "draft", r.created_at, r.id))
    ids = [r.id for r in first[:limit]]
    loaded = {r.id: r for r in db.session.scalars(
        select(Review).where(Review.id.in_(ids)).options(*options))}
    return [loaded[i] for i in ids], len(found)


def waivers_waiting(limit):
    """A consultant's queue of waiver requests waiting for a decision, oldest first, as a
    Worklist (requests leave it when decided, withdrawn, or their review is closed)."""
    waiting = (select(Waiver).where(Waiver.state == "requested")
               .options(joinedload(Waiver.review).joinedload(Review.service),
                        joinedload(Waiver.requested_by))
               .order_by(Waiver.requested_at, Waiver.id))
    items = db.session.scalars(waiting.limit(limit)).unique().all()
    total, capped = count_upto(waiting)
    return Worklist(items, total, capped)
