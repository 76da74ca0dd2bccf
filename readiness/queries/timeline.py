"""A service's timeline: reviews, decisions, management events and fact changes in time
order, each with who and why. Read from the record and the facts table."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, union_all

from ..extensions import db
from ..models import AuditEntry, Fact, LatestFact, Review

# Which audited actions of a service and its reviews the timeline shows, and how.
SHOWN = {
    "service:create": ("service", "Service added"),
    "service:update": ("service", "Details changed"),
    "service:launch": ("support", "Launched: the team carries the pager"),
    "service:handoff": ("support", "Handed off: Ops carries the pager"),
    "service:handback": ("support", "Handed back to the team"),
    "service:retire": ("support", "Retired"),
    "review:start": ("review", "Review started"),
    "review:submit": ("review", "Review submitted"),
    "review:request_changes": ("decision", "Changes requested"),
    "review:approve": ("decision", "Review approved and signed off"),
    "review:withdraw": ("review", "Review withdrawn"),
    "trial:record": ("support", "Pager trial recorded"),
    "gate:override": ("support", "Gate overridden (break-glass)"),
}
# Each entry's colour on the timeline says what it means, beyond its group: a handback
# is not a handoff, changes requested are not an approval (the words say it too).
TONES = {
    "service:launch": "good", "service:handoff": "good", "review:approve": "good",
    "service:handback": "bad", "review:request_changes": "warn",
    "service:retire": "quiet", "review:withdraw": "quiet", "gate:override": "warn",
}
LIMIT = 200
# How many of each fact's newest readings the timeline looks back over for changes.
FACT_WINDOW = 5_000


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    who: str
    why: str
    review_id: int | None = None
    tone: str = "neutral"


# The timeline's filters: which groups of entries each shows.
# Fact changes are left out unless asked for: the facts' trend lines show them.
FILTERS = {
    "changes": ("service", "support", "review", "decision"),
    "events": ("service", "support"),
    "reviews": ("review", "decision"),
    "decisions": ("decision",),
    "facts": ("fact",),
    "all": ("service", "support", "review", "decision", "fact"),
}
DEFAULT_FILTER = "changes"


def service_timeline(service, limit=LIMIT, shown="all"):
    """The newest `limit` entries of the service's timeline, newest first, of the groups
    the filter `shown` (a FILTERS key) names."""
    groups = FILTERS[shown]
    actions = [action for action, (group, _) in SHOWN.items() if group in groups]
    review_ids = db.session.scalars(select(Review.id).where(Review.service_id == service.id))
    review_keys = [str(i) for i in review_ids]
    audited = [] if not actions else db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action.in_(actions),
            or_(
                (AuditEntry.subject_type == "service")
                & (AuditEntry.subject_id == str(service.id)),
                (AuditEntry.subject_type == "review") & AuditEntry.subject_id.in_(review_keys),
            ),
        ).order_by(AuditEntry.seq.desc()).limit(limit)
    )
    entries = [_from_audit(entry) for entry in audited]
    if "fact" in groups:
        entries += fact_changes(service.id, limit)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _from_audit(entry):
    kind, title = SHOWN[entry.action]
    changes = entry.changes or {}
    why = changes.get("reason") or changes.get("comment") or ""
    review_id = int(entry.subject_id) if entry.subject_type == "review" else None
    if review_id:
        title = f"{title} (Review #{review_id})"
    if entry.action == "service:update":
        why = ", ".join(sorted(k for k in changes if k not in ("reason",)))
    if entry.action == "trial:record":
        title = f"{title}: {changes.get('outcome')}"
        why = (f"{changes.get('started_on')} to {changes.get('ended_on')}, shadowed by "
               f"{changes.get('shadow')}: {changes.get('pages_total')} pages, "
               f"{changes.get('pages_actionable')} actionable. {changes.get('notes') or ''}"
               ).strip()
    return Entry(entry.created_at, kind, title, entry.actor_name, why, review_id,
                 TONES.get(entry.action, "neutral"))


def fact_changes(service_id, limit, window=FACT_WINDOW):
    """Facts whose value differs from the previous reading of the same fact, among each
    fact's newest `window` readings: a fact pushed every minute has half a million
    readings a year, and reading them all made its service's page take seconds.

    The reading just before a fact's window (found on the index) bounds what the
    window function reads of that fact, and serves only as the next one's "previous".
    """
    before_window = (select(Fact.observed_at)
                     .where(Fact.service_id == service_id, Fact.name == LatestFact.name)
                     .order_by(Fact.observed_at.desc()).offset(window).limit(1)
                     .scalar_subquery())
    starts = dict(db.session.execute(
        select(LatestFact.name, before_window).where(LatestFact.service_id == service_id)).all())
    bounded = {name: at for name, at in starts.items() if at is not None}
    of_service = (select(Fact.name, Fact.value, Fact.observed_at, Fact.source)
                  .where(Fact.service_id == service_id))
    if bounded:  # some facts have more readings than the window: an index range each
        unbounded = [name for name in starts if name not in bounded]
        of_service = union_all(
            *([of_service.where(Fact.name.in_(unbounded))] if unbounded else []),
            *(of_service.where(Fact.name == name, Fact.observed_at >= at)
              for name, at in bounded.items()))
    facts = of_service.subquery()
    previous = func.lag(facts.c.value).over(partition_by=facts.c.name,
                                            order_by=facts.c.observed_at)
    readings = select(facts, previous.label("previous")).subquery()
    rows = db.session.execute(
        select(readings).where(
            or_(readings.c.previous.is_(None), readings.c.previous != readings.c.value),
            *(or_(readings.c.name != name, readings.c.observed_at > at)
              for name, at in bounded.items()))
        .order_by(readings.c.observed_at.desc()).limit(limit)
    )
    # Readings pushed together (same time, same source) make one entry.
    grouped = {}
    for row in rows:
        change = f"{row.name} = {row.value:g}" + (
            f" (was {row.previous:g})" if row.previous is not None else "")
        grouped.setdefault((row.observed_at, row.source or "telemetry"), []).append(change)
    return [Entry(at, "fact", "; ".join(sorted(changes)), source, "")
            for (at, source), changes in grouped.items()]


TREND_POINTS = 30


def fact_trends(service_id, points=TREND_POINTS):
    """{fact name: [(observed_at, value), …]} of the service's newest `points` readings
    of each fact, oldest first: one short index range per fact (a service's facts can be
    a million readings; their names are few, read from latest_fact)."""
    names = db.session.scalars(select(LatestFact.name).where(
        LatestFact.service_id == service_id).order_by(LatestFact.name)).all()
    if not names:
        return {}
    newest = [select(Fact.name, Fact.observed_at, Fact.value)
              .where(Fact.service_id == service_id, Fact.name == name)
              .order_by(Fact.observed_at.desc()).limit(points).subquery()
              for name in names]
    rows = db.session.execute(union_all(*(select(q) for q in newest))).all()
    trends = {name: [] for name in names}
    for name, observed_at, value in sorted(rows, key=lambda r: (r[0], r[1])):
        trends[name].append((observed_at, value))
    return trends
