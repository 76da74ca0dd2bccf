"""Use cases for telemetry facts."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from ..audit import AuditAction, record
from ..extensions import db
from ..models import Fact


@dataclass(frozen=True)
class FactInput:
    name: str
    value: float
    observed_at: datetime
    source: str = ""


def record_facts(service, facts, *, actor):
    """Store `facts` for `service`, skipping any already stored for the same
    (name, observed_at); returns how many were new. One audit entry per call."""
    existing = set()
    if facts:
        times = [f.observed_at for f in facts]
        existing = set(db.session.execute(
            select(Fact.name, Fact.observed_at).where(
                Fact.service_id == service.id, Fact.name.in_({f.name for f in facts}),
                Fact.observed_at.between(min(times), max(times)))).all())
    new = []
    for fact in facts:
        key = (fact.name, fact.observed_at)
        if key in existing:
            continue
        existing.add(key)
        new.append(Fact(service_id=service.id, name=fact.name, value=fact.value,
                        observed_at=fact.observed_at, source=fact.source))
    db.session.add_all(new)
    if new:
        record(AuditAction.FACT_RECORD, actor=actor, subject=service, count=len(new),
               names=sorted({f.name for f in new}))
    return len(new)


def latest_facts(service_ids):
    """{service id: {fact name: (value, observed_at, source)}} of the latest facts."""
    if not service_ids:
        return {}
    newest = (
        select(Fact.service_id, Fact.name, func.max(Fact.observed_at).label("at"))
        .where(Fact.service_id.in_(service_ids))
        .group_by(Fact.service_id, Fact.name).subquery()
    )
    rows = db.session.execute(
        select(Fact.service_id, Fact.name, Fact.value, Fact.observed_at, Fact.source).join(
            newest, and_(Fact.service_id == newest.c.service_id, Fact.name == newest.c.name,
                         Fact.observed_at == newest.c.at))
    )
    found = {}
    for service_id, name, value, observed_at, source in rows:
        found.setdefault(service_id, {})[name] = (value, observed_at, source)
    return found
