"""Use cases for telemetry facts."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..audit import AuditAction, record
from ..extensions import db
from ..models import Fact, LatestFact, utcnow
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
    now = utcnow()
    for fact in facts:
        key = (fact.name, fact.observed_at)
        if key in stored:
            continue
        stored[key] = fact.value
        new.append({"service_id": service.id, "name": fact.name, "value": fact.value,
                    "observed_at": fact.observed_at, "source": fact.source,
                    "recorded_at": now})
    if new:
        # One executemany: no ORM objects, no primary keys fetched back.
        db.session.execute(insert(Fact.__table__), new)
        _keep_latest(service.id, new)
        record(AuditAction.FACT_RECORD, actor=actor, subject=service, count=len(new),
               names=sorted({f["name"] for f in new}))
    return len(new), []


def record_facts(service, facts, *, actor):
    """Store `facts`, skipping those already stored; returns how many were new.

    :raise InvalidInput: if some were already stored with another value.
    """
    count, conflicts = record_new_facts(service, facts, actor=actor)
    if conflicts:
        raise InvalidInput(f"{len(conflicts)} fact(s) already recorded with another value")
    return count


def _keep_latest(service_id, rows):
    """Upsert the newest of `rows` per name into latest_fact, unless a newer one is there."""
    newest = {}
    for row in rows:
        if row["name"] not in newest or row["observed_at"] > newest[row["name"]]["observed_at"]:
            newest[row["name"]] = row
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[db.session.get_bind().dialect.name]
    statement = dialect.insert(LatestFact).values([
        {"service_id": service_id, "name": r["name"], "value": r["value"],
         "observed_at": r["observed_at"], "source": r["source"]} for r in newest.values()])
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[LatestFact.service_id, LatestFact.name],
        set_={"value": statement.excluded.value, "observed_at": statement.excluded.observed_at,
              "source": statement.excluded.source},
        where=LatestFact.observed_at < statement.excluded.observed_at))


def latest_facts(service_ids):
    """{service id: {fact name: (value, observed_at, source)}} of the latest facts."""
    if not service_ids:
        return {}
    rows = db.session.execute(
        select(LatestFact.service_id, LatestFact.name, LatestFact.value,
               LatestFact.observed_at, LatestFact.source)
        .where(LatestFact.service_id.in_(service_ids)))
    found = {}
    for service_id, name, value, observed_at, source in rows:
        found.setdefault(service_id, {})[name] = (value, observed_at, source)
    return found
