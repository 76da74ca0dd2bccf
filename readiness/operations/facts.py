"""Use cases for telemetry facts."""

from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import and_, func, select, true
from sqlalchemy.exc import IntegrityError

from ..audit import AuditAction, record
from ..database import DIALECT_INSERT, PreparedInsert
from ..extensions import db
from ..models import Fact, LatestFact, utcnow
from .common import InvalidInput


class FactInput(NamedTuple):
    name: str
    value: float
    observed_at: datetime
    source: str = ""


# Rows are written in this order, so two posts of overlapping facts lock them in the same
# order and never deadlock each other (PostgreSQL; SQLite has one writer at a time).
_LOCK_ORDER = attrgetter("name", "observed_at")
_FACT_COLUMNS = ("service_id", "name", "value", "observed_at", "source", "recorded_at")
# Readings already stored are skipped, and compared afterwards (see record_new_facts).
_INSERT_FACTS = PreparedInsert(Fact.__table__, _FACT_COLUMNS,
                               on_conflict=lambda insert: insert.on_conflict_do_nothing())
_INSERT_NEW_FACTS = PreparedInsert(Fact.__table__, _FACT_COLUMNS)


def _newer_reading_wins(insert):
    """ON CONFLICT for latest_fact: a reading replaces the stored one only if newer."""
    return insert.on_conflict_do_update(
        index_elements=["service_id", "name"],
        set_={"value": insert.excluded.value, "observed_at": insert.excluded.observed_at,
              "source": insert.excluded.source},
        where=LatestFact.__table__.c.observed_at < insert.excluded.observed_at)


_KEEP_LATEST = PreparedInsert(
    LatestFact.__table__, ("service_id", "name", "value", "observed_at", "source"),
    on_conflict=_newer_reading_wins)


def record_new_facts(service, facts, *, actor):
    """Store the `facts` not yet stored for `service`; idempotent per (name, observed_at).

    Returns (how many were new, the facts already stored with another value). When there
    are such conflicts the caller must roll back: then nothing of this call stays.
    One audit entry per call that stores anything.
    """
    now = utcnow()
    facts = sorted(facts, key=_LOCK_ORDER)
    stored = _insert_facts(service.id, facts, now)
    # In lock order, each name's last fact is its newest (and names stay in order).
    newest = {fact.name: fact for fact in facts}
    names = set(newest)
    if stored != len(facts):
        # Some were there already: the same reading again is fine, another value is not.
        before = {(name, at): (value, recorded_at)
                  for name, at, value, recorded_at in db.session.execute(
                      select(Fact.name, Fact.observed_at, Fact.value, Fact.recorded_at).where(
                          Fact.service_id == service.id, Fact.name.in_(names),
                          Fact.observed_at.between(min(f.observed_at for f in facts),
                                                   max(f.observed_at for f in facts))))}
        conflicts = [f for f in facts if before[(f.name, f.observed_at)][0] != f.value]
        if conflicts:
            return 0, conflicts
        new = [f for f in facts if before[(f.name, f.observed_at)][1] == now]
        stored, names = len(new), {f.name for f in new}
    if stored:
        _KEEP_LATEST.execute(db.session, len(newest), service_id=service.id,
                             **_by_field(list(newest.values())))
        record(AuditAction.FACT_RECORD, actor=actor, subject=service, count=stored,
               names=sorted(names))
    return stored, []


def _insert_facts(service_id, facts, now):
    """Insert `facts` (in lock order), skipping those already stored; returns how many
    were stored."""
    columns = _by_field(facts)
    if db.session.get_bind().dialect.name == "postgresql":
        # Facts are new as a rule, and there ON CONFLICT costs ~3 µs a row (a third more
        # than the insert itself): a plain INSERT first, under a savepoint to come back to.
        # (On SQLite ON CONFLICT costs nothing measurable, and a savepoint does.)
        try:
            with db.session.begin_nested():
                return _INSERT_NEW_FACTS.execute(db.session, len(facts), service_id=service_id,
                                                 recorded_at=now, **columns)
        except IntegrityError:  # some were stored before
            pass
    return _INSERT_FACTS.execute(db.session, len(facts), service_id=service_id,
                                 recorded_at=now, **columns)


def _by_field(facts):
    """{"name": (…), "value": (…), "observed_at": (…), "source": (…)} of FactInputs."""
    return dict(zip(FactInput._fields, zip(*facts, strict=True), strict=True)) if facts \
        else dict.fromkeys(FactInput._fields, ())


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
    rows = db.session.execute(
        select(LatestFact.service_id, LatestFact.name, LatestFact.value,
               LatestFact.observed_at, LatestFact.source)
        .where(LatestFact.service_id.in_(service_ids)))
    found = {}
    for service_id, name, value, observed_at, source in rows:
        found.setdefault(service_id, {})[name] = (value, observed_at, source)
    return found


def refresh_latest_facts():
    """Bring the latest-reading table up to date with all stored facts; returns how many
    of its rows were added or moved to a newer reading.

    The ingest keeps it current. This is for readings stored without it: by app servers
    of a version before it existed, still running during a rolling upgrade. Idempotent,
    and it never replaces a reading with an older one. It changes no fact, so it adds no
    audit entry (the facts were recorded when they arrived).
    """
    newest = (select(Fact.service_id, Fact.name, func.max(Fact.observed_at).label("at"))
              .group_by(Fact.service_id, Fact.name).subquery())
    readings = (select(Fact.service_id, Fact.name, Fact.value, Fact.observed_at, Fact.source)
                .join(newest, and_(newest.c.service_id == Fact.service_id,
                                   newest.c.name == Fact.name,
                                   newest.c.at == Fact.observed_at))
                .where(true()))  # SQLite: INSERT … SELECT … ON CONFLICT needs a WHERE
    insert = DIALECT_INSERT[db.session.get_bind().dialect.name](LatestFact.__table__)
    upsert = _newer_reading_wins(insert.from_select(
        ["service_id", "name", "value", "observed_at", "source"], readings))
    return len(db.session.execute(upsert.returning(LatestFact.__table__.c.name)).all())
