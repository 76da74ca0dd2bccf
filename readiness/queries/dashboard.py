"""What the dashboard shows, each in a fixed number of queries."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..domain import charts, lifecycle
from ..domain.inputs import day_start
from ..extensions import db
from ..models import (
    SERVICE_STATES,
    ChecklistVersion,
    EventMonthCount,
    ManagementEvent,
    ReviewCycleCount,
    ReviewStateCount,
    Service,
    ServiceStateCount,
    Team,
)
from . import lifecycle as support
from . import services, worklists
from .waivers import expiring_waivers
from .worklists import Worklist, count_upto

EXPIRY_WINDOW = lifecycle.EXPIRY_WINDOW
MONTHS = 12


def services_by_state():
    """{state: how many services are in it}, every state: a row each from the counts the
    database keeps (readiness.summaries), not a count over the services."""
    counts = dict(db.session.execute(
        select(ServiceStateCount.state, ServiceStateCount.services)).all())
    return {state: counts.get(state, 0) for state in SERVICE_STATES}


def services_by_state_on(day):
    """{state: how many services were in it} at the end of `day` (UTC), rebuilt from the
    record: every service created by then starts in development, and each management
    event made by then moves one from its from_state to its to_state. A historical view:
    its cost follows the events and services up to that day, not a kept count."""
    end = day_start(day + timedelta(days=1))
    counts = {state: 0 for state in SERVICE_STATES}
    counts["development"] = db.session.scalar(
        select(func.count()).select_from(Service).where(Service.created_at < end))
    for from_state, to_state, moved in db.session.execute(
            select(ManagementEvent.from_state, ManagementEvent.to_state, func.count())
            .where(ManagementEvent.created_at < end)
            .group_by(ManagementEvent.from_state, ManagementEvent.to_state)):
        counts[from_state] -= moved
        counts[to_state] += moved
    return counts


@dataclass(frozen=True)
class Expiring:
    slug: str
    name: str
    review_id: int
    expires_at: datetime
    has_expired: bool
    team: str = ""
    days_left: int = 0  # whole days until it expires; negative once it has
    team_slug: str = ""


def expiring_launch_approvals(now, limit=None, offset=0):
    """Live services whose latest launch approval expires within 30 days or already has,
    soonest first: `limit` of them (all when None) after the first `offset`, and how
    many there are.

    Each service carries its latest launch approval (readiness.summaries), so the list is
    a range of ix_service_launch_expiry per live state and valid_for_days: its cost
    follows the entries, never the number of services.
    """
    validities = db.session.scalars(
        select(ChecklistVersion.valid_for_days).distinct()
        .where(ChecklistVersion.stage == "launch", ChecklistVersion.valid_for_days.is_not(None))
    ).all()
    ranges = [(Service.state == state) & (Service.launch_valid_days == days)
              & (Service.launch_approved_at <= now + EXPIRY_WINDOW - timedelta(days=days))
              for state in lifecycle.LIVE_STATES for days in validities]
    if not ranges:
        return Worklist([], 0)
    rows = []
    for in_range in ranges:  # each range in expiry order; the soonest of all merged below
        query = (select(Service.slug, Service.name, Service.launch_review_id,
                        Service.launch_approved_at, Service.launch_valid_days, Team.name,
                        Team.slug)
                 .join(Service.team).where(in_range)
                 .order_by(Service.launch_approved_at, Service.id))
        rows += db.session.execute(
            query if limit is None else query.limit(offset + limit)).all()
    found = []
    for slug, name, review_id, approved_at, days, team, team_slug in rows:
        expires_at = approved_at + timedelta(days=days)
        found.append(Expiring(slug, name, review_id, expires_at, expires_at <= now, team,
                              math.floor((expires_at - now) / timedelta(days=1)), team_slug))
    found.sort(key=lambda e: (e.expires_at, e.slug))
    if limit is None:
        return Worklist(found[offset:], len(found))
    bound = max(worklists.COUNT_BOUND, offset + limit)
    counted = [count_upto(select(Service.id).where(in_range), bound) for in_range in ranges]
    total = sum(n for n, _ in counted)
    capped = total > bound or any(more for _, more in counted)
    return Worklist(found[offset:offset + limit], min(total, bound), capped)


def reviews_waiting_by_stage():
    """{stage: submitted reviews} for launch and handoff, from the kept counts."""
    counts = dict(db.session.execute(
        select(ReviewStateCount.stage, ReviewStateCount.reviews)
        .where(ReviewStateCount.state == "submitted")).all())
    return {stage: counts.get(stage, 0) for stage in ("launch", "handoff")}


def month_starts(now, months=MONTHS):
    """The first day of each of the last `months` months, oldest first."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


def _month_label(year, month):
    return datetime(year, month, 1).strftime("%b %y")


def _per_month(now, values):
    """[(label, value or None)] for the last MONTHS months, from {"YYYY-MM": value}."""
    return [(_month_label(y, m), values.get(f"{y:04d}-{m:02d}")) for y, m in month_starts(now)]


def handbacks_per_month(now):
    """[(month label, handbacks)] for the last MONTHS months, from the kept counts."""
    year, month = month_starts(now)[0]
    counts = dict(db.session.execute(
        select(EventMonthCount.month, EventMonthCount.events)
        .where(EventMonthCount.kind == "handback",
               EventMonthCount.month >= f"{year:04d}-{month:02d}")).all())
    return [(label, count or 0) for label, count in _per_month(now, counts)]


def median_cycle_days_per_month(now):
    """Median days from first submission to approval, by month of approval: each review's
    time in tenths of a day, rounded down (the chart shows one decimal), from the kept
    counts (readiness.summaries), at most a few hundred rows a month."""
    year, month = month_starts(now)[0]
    counted = {}
    for approved_month, tenths, reviews in db.session.execute(
            select(ReviewCycleCount.month, ReviewCycleCount.tenths, ReviewCycleCount.reviews)
            .where(ReviewCycleCount.month >= f"{year:04d}-{month:02d}",
                   ReviewCycleCount.reviews > 0)
            .order_by(ReviewCycleCount.month, ReviewCycleCount.tenths)):
        counted.setdefault(approved_month, []).append((tenths, reviews))
    return _per_month(now, {month: charts.median_of_counted(pairs) / 10
                            for month, pairs in counted.items()})


def build(now, shown):
    """What the dashboard shows; its worklists hold their first `shown` entries."""
    states = services_by_state()
    return {
        "states": states,
        "expiring": expiring_launch_approvals(now, shown),
        "waiting": reviews_waiting_by_stage(),
        "candidates": support.handback_candidates(now, shown),
        "unreviewed": services.unreviewed_in_production(shown),
        "waivers": expiring_waivers(now, shown),
        "rereview": support.needing_rereview(now, shown),
        "charts": [
            charts.bar_chart("Services by state", "How many services are in each state.",
                             [(lifecycle.STATE_LABELS[s], n) for s, n in states.items()],
                             unit="services", axis="State"),
            charts.bar_chart("Handbacks per month",
                             "Services handed back to their teams, last 12 months.",
                             handbacks_per_month(now), unit="handbacks",
                             axis="Month"),
            charts.bar_chart("Median review cycle time, in days",
                             "Days from first submission to approval, by month of approval.",
                             median_cycle_days_per_month(now), unit="days", decimals=1,
                             axis="Month"),
        ],
    }
