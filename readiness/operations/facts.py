"""Use cases for telemetry facts."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

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
