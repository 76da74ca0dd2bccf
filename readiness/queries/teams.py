"""What a team's page shows (DESIGN.md "Teams"): its services by state, open reviews,
waivers, open return conditions, campaign services and its history by month from the
record. Each read is of the team's own services: the page costs what the team holds."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..domain import lifecycle, reviews
from ..extensions import db
from ..models import ManagementEvent, Review, Service, Waiver
from .dashboard import MONTHS, _per_month, month_starts
from .readiness import readiness_of

SHOWN = 100  # of each list


@dataclass(frozen=True)
class TeamView:
    team: object
    by_state: dict  # state -> [Service] (the first SHOWN of each)
    counts: dict  # state -> how many
    open_reviews: list
    waivers: list
    returns: list  # (service, its handback event) with open return conditions
    history: list  # (month label, {kind: events})
    readiness: dict  # service id -> queries.readiness.Readiness (the services shown)
    figure: dict  # the team's readiness: approved / expired / in review / none, and share


def team_view(team, now):
    services = db.session.scalars(select(Service).where(Service.team_id == team.id)
                                  .order_by(Service.name, Service.id)).all()
    by_state = {state: [] for state in lifecycle.STATES}
    for service in services:
        by_state[service.state].append(service)
    ids = [s.id for s in services]
    # Found service by service, the states tested here: a plan by state would walk the
    # organisation's open reviews and waivers instead of the team's.
    team_reviews = db.session.scalars(
        select(Review).where(Review.service_id.in_(ids))
        .options(joinedload(Review.service), joinedload(Review.checklist_version))
        .order_by(Review.created_at, Review.id)).all() if ids else []
    open_reviews = [r for r in team_reviews if r.state in reviews.OPEN_STATES][:SHOWN]
    waivers = sorted((w for w in db.session.scalars(
        select(Waiver).where(Waiver.review_id.in_([r.id for r in team_reviews]))
        .options(joinedload(Waiver.review))) if w.in_force or w.state == "requested"),
        key=lambda w: (w.expires_on, w.id))[:SHOWN] if team_reviews else []
    # The team's events, read once: each service's latest (its open return conditions)
    # and the counts by month and kind (its history).
    latest, counted = {}, {}
    year, month = month_starts(now)[0]
    first = f"{year:04d}-{month:02d}"
    if ids:
        for event in db.session.scalars(
                select(ManagementEvent).where(ManagementEvent.service_id.in_(ids))
                .order_by(ManagementEvent.created_at, ManagementEvent.id)):
            latest[event.service_id] = event
            label = f"{event.created_at:%Y-%m}"
            if label >= first:
                kinds = counted.setdefault(label, {})
                kinds[event.kind] = kinds.get(event.kind, 0) + 1
    returns = [(service, latest[service.id]) for service in by_state["self_managed"]
               if service.id in latest and latest[service.id].kind == "handback"]
    history = [(label, kinds or {}) for label, kinds in _per_month(now, counted)]
    shown = {s: found[:SHOWN] for s, found in by_state.items()}
    ready = readiness_of([s.id for found in shown.values() for s in found
                          if s.state != "retired"], now)
    return TeamView(team, shown, {s: len(found) for s, found in by_state.items()},
                    open_reviews, waivers, returns, history[-MONTHS:], ready,
                    team_figure(ready.values()))


def team_figure(figures):
    """A team's readiness in one line: how many of its services are approved, have an
    expired approval, are in review (and the share of required items done over those
    reviews), or have no review."""
    figures = list(figures)
    kinds = {kind: sum(1 for f in figures if f.kind == kind)
             for kind in ("approved", "expired", "review", "none")}
    done = sum(f.done for f in figures if f.kind == "review")
    total = sum(f.total for f in figures if f.kind == "review")
    return {**kinds, "services": len(figures), "share": done / total if total else None}
