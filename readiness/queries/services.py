"""The service list: one filter, read by the pages and the API alike."""

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Service, Team
from .worklists import Worklist, count_upto


@dataclass(frozen=True)
class ServiceFilter:
    """What the list is narrowed to; None means "any". The faces check the values (a page
    explains what it ignored, the API answers 400) and pass only valid ones."""

    text: str | None = None  # in the name or the slug, case-insensitive
    team: str | None = None  # a team's slug
    state: str | None = None
    tier: int | None = None
    # In production per the catalog, never launched here (docs/catalog.md).
    unreviewed: bool = False

    def __bool__(self):
        return self.unreviewed or any(value is not None for value in
                                      (self.text, self.team, self.state, self.tier))


def matching(narrowed):
    """SELECT of the services `narrowed` (a ServiceFilter) keeps, in no order."""
    query = select(Service)
    if narrowed.text:
        query = query.where(or_(Service.name.icontains(narrowed.text, autoescape=True),
                                Service.slug.icontains(narrowed.text, autoescape=True)))
    if narrowed.team is not None:
        # One team id, looked up once: the team's services are a range of
        # ix_service_team_name (an EXISTS per row would walk every service's name).
        query = query.where(Service.team_id == select(Team.id).where(
            Team.slug == narrowed.team).scalar_subquery())
    if narrowed.state is not None:
        query = query.where(Service.state == narrowed.state)
    if narrowed.tier is not None:
        query = query.where(Service.tier == narrowed.tier)
    if narrowed.unreviewed:
        query = query.where(*UNREVIEWED_IN_PRODUCTION)
    return query


# A service the catalog says is in production that was never launched here: still in
# development (a launch is the only way out of it but retiring), so it never had a
# launch review approved and acted on. An index range of ix_service_catalog_production.
UNREVIEWED_IN_PRODUCTION = (Service.state == "development",
                            Service.catalog_lifecycle == "production")


def unreviewed_in_production(limit=None):
    """Services in production per the catalog with no launch here, by name: the first
    `limit` (all when None) and how many (counted up to the worklists' bound)."""
    found = select(Service).where(*UNREVIEWED_IN_PRODUCTION).order_by(Service.name, Service.id)
    shown = found.options(selectinload(Service.team))
    services = db.session.scalars(shown if limit is None else shown.limit(limit)).all()
    if limit is None or len(services) < limit:
        return Worklist(services, len(services))
    return Worklist(services, *count_upto(found))


# A list page counts its matches up to this many, then says "1,000+": an exact count
# would read every match, however few the page shows.
LIST_COUNT_BOUND = 1000


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, and how many match in all (at least `total` when
    `capped`; then the number of pages is not known, only whether a next one exists)."""

    items: list
    page: int
    per_page: int
    total: int
    capped: bool
    has_next: bool

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def pages(self):
        """How many pages there are, or None when the count was capped."""
        return None if self.capped else max(1, -(-self.total // self.per_page))


def page_of(query, page, per_page, *, exact=False):
    """Page `page` (from 1) of `query` (ordered), with the matches counted up to
    LIST_COUNT_BOUND (or to the end of this page, when that is further; all of them when
    `exact`): its cost follows the page shown, not the number of matches."""
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    total, capped = count_upto(query, None if exact else max(LIST_COUNT_BOUND, page * per_page))
    return Page(rows[:per_page], page, per_page, total, capped, len(rows) > per_page)
