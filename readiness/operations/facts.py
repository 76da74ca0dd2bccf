"""Use cases for telemetry facts."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from ..audit import AuditAction, record
from ..extensions import db
from ..models import Fact
from .common import InvalidInput


@dataclass(frozen=True)
class FactInput:
    name: str
    value: float
    observed_at: datetime
    source: str = ""


def record_new_facts(service, facts, *, actor):
    """Store the `facts` not yet stored for `service`; idempotent per (name, observed_at).

    Returns (how many were new, the facts already stored with another value). Nothing
    is added when there are such conflicts: the caller rolls back and reports them.
    One audit entry per call that stores anything.
    """
    stored = {}
    if facts:
        times = [f.observed_at for f in facts]
        stored = {(name, at): value for name, at, value in db.session.execute(
            select(Fact.name, Fact.observed_at, Fact.value).where(
                Fact.service_id == service.id, Fact.name.in_({f.name for f in facts}),
                Fact.observed_at.between(min(times), max(times))))}
    conflicts = [f for f in facts if stored.get((f.name, f.observed_at), f.value) != f.value]
    if conflicts:
        return 0, conflicts
    new = []
    for fact in facts:
        key = (fact.name, fact.observed_at)
        if key in stored:
            continue
        stored[key] = fact.value
        new.append(Fact(service_id=service.id, name=fact.name, value=fact.value,
                        observed_at=fact.observed_at, source=fact.source))
    db.session.add_all(new)
    if new:
        record(AuditAction.FACT_RECORD, actor=actor, subject=service, count=len(new),
               names=sorted({f.name for f in new}))
    return len(new), []


def record_facts(service, facts, *, actor):
    """Store `facts`, skipping those already stored; returns how many were new.

    :raise InvalidInput: if some were already stored with another value.
    """
    count, conflicts = record_new_facts(service, facts, actor=actor)
    if conflicts:
        raise InvalidInput(f"{len(conflicts)} fact(s) already recorded with another value")
    return count


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
