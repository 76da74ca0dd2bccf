"""The service list: one filter, read by the pages and the API alike."""

from dataclasses import dataclass

from sqlalchemy import or_, select

from ..models import Service, Team


@dataclass(frozen=True)
class ServiceFilter:
    """What the list is narrowed to; None means "any". The faces check the values (a page
    explains what it ignored, the API answers 400) and pass only valid ones."""

    text: str | None = None  # in the name or the slug, case-insensitive
    team: str | None = None  # a team's slug
    state: str | None = None
    tier: int | None = None

    def __bool__(self):
        return any(value is not None for value in
                   (self.text, self.team, self.state, self.tier))


def matching(narrowed):
    """SELECT of the services `narrowed` (a ServiceFilter) keeps, in no order."""
    query = select(Service)
    if narrowed.text:
        query = query.where(or_(Service.name.icontains(narrowed.text, autoescape=True),
                                Service.slug.icontains(narrowed.text, autoescape=True)))
    if narrowed.team is not None:
        query = query.where(Service.team.has(Team.slug == narrowed.team))
    if narrowed.state is not None:
        query = query.where(Service.state == narrowed.state)
    if narrowed.tier is not None:
        query = query.where(Service.tier == narrowed.tier)
    return query
