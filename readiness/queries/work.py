"""An ops lead's queue on My work: what waits for an ops lead to act."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..domain import lifecycle
from ..extensions import db
from ..models import ChecklistVersion, ManagementEvent, Review, Service, Team
from .lifecycle import latest_approval_id

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


def ready_for(transition, now):
    """Services an ops lead may move by `transition` ("launch" or "handoff") now: in the
    state it starts from, with the approval its guard asks for (domain.lifecycle.check
    decides, as for the button on the service page), oldest approval first."""
    last_handback = (select(func.max(ManagementEvent.created_at))
                     .where(ManagementEvent.service_id == Service.id,
                            ManagementEvent.kind == "handback")
                     .correlate(Service).scalar_subquery())
    rows = db.session.execute(
        select(Service.slug, Service.name, Team.name.label("team"), Review.id,
               Review.created_at, Review.approved_at, ChecklistVersion.valid_for_days,
               last_handback.label("last_handback_at"))
        .select_from(Service).join(Service.team)
        .join(Review, Review.id == latest_approval_id(transition))
        .join(Review.checklist_version)
        .where(Service.state == WAITING_FOR[transition])
        .order_by(Review.approved_at, Review.id)
    ).all()
    ready = []
    for row in rows:
        approval = lifecycle.Approval(row.id, row.created_at, row.approved_at,
                                      row.valid_for_days)
        found = lifecycle.Situation(
            state=WAITING_FOR[transition], now=now, actor_is_ops_lead=True,
            last_handback_at=row.last_handback_at, **{f"{transition}_approval": approval})
        if lifecycle.check(transition, found).allowed:
            ready.append(Ready(row.slug, row.name, row.team, row.id, row.approved_at,
                               approval.expires_at()))
    return ready
