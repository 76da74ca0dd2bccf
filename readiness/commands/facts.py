"""Use cases for telemetry facts: storing readings, whoever brings them (the API, a
collector), and refreshing the latest-reading table."""

import secrets
from dataclasses import dataclass, field
from operator import attrgetter

from sqlalchemy import and_, func, select, true
from sqlalchemy.exc import IntegrityError

from ..audit import AuditAction, record
from ..domain.facts import batch_digest
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..fact_table import (
    INSERT_FACTS,
    INSERT_NEW_FACTS,
    KEEP_LATEST,
    newer_reading_wins,
    reading_columns,
    upsert,
)
from ..models import Fact, LatestFact, utcnow
from .worklists import refresh_handback_moment, refresh_worklists


class FactsConflict(InvalidInput):
    """Readings already stored with another value; `conflicts` lists the facts sent."""

    def __init__(self, conflicts):
        super().__init__(f"{len(conflicts)} fact(s) already recorded with another value")
        self.conflicts = conflicts


# Rows are written in this order, so two posts of overlapping facts lock them in the same
# order and never deadlock each other (PostgreSQL; SQLite has one writer at a time).
_LOCK_ORDER = attrgetter("name", "observed_at")


def record_facts(service, facts, *, actor, now=None):
    """Store the `facts` not yet stored for `service`; returns how many were new.

    Idempotent per (name, observed_at): a reading stored before, by this call's sender or
    another, is neither stored nor audited again, whatever the clock says. One audit entry
    per call that stores anything.

    :raise FactsConflict: if some were already stored with another value; then nothing
        of this call is stored.
    """
    now = now or utcnow()
    facts = sorted(facts, key=_LOCK_ORDER)
    if not facts:
        return 0
    # Names this call's rows, in them and in its audit entry (with their digest).
    batch = secrets.randbits(62)
    if db.session.get_bind().dialect.name == "sqlite":
        stored, new = _insert_one_writer(service.id, facts, now, batch)
    else:
        stored, new = _insert_concurrently(service.id, facts, now, batch)
    if stored:
        newest = {fact.name: fact for fact in new}  # in lock order: each name's newest last
        KEEP_LATEST.execute(db.session, len(newest), service_id=service.id,
                             **reading_columns(list(newest.values())))
        record(AuditAction.FACT_RECORD, actor=actor, subject=service, count=stored,
               names=sorted(newest), batch=batch, digest=batch_digest(new))
        # An ops-managed service may now pass or fail its handback checks. Whether it is
        # ops-managed is read there, under the service row's lock: a handoff committing
        # meanwhile either sees these facts or is seen by this.
        refresh_handback_moment(service.id)
    return stored


def _insert_one_writer(service_id, facts, now, batch):
    """(how many were stored, the facts that were new) on SQLite, where one writer works
    at a time (write requests begin with BEGIN IMMEDIATE).

    Readings already stored are skipped by the insert itself (a savepoint to come back to
    costs ~2 ms a post there). When some were skipped, the new ones are the rows just
    inserted: SQLite gives each new row the next rowid, so they are the table's newest.
    A conflicting value raises, and the caller's transaction, never committed, takes the
    rows with it.
    """
    stored = INSERT_FACTS.execute(db.session, len(facts), service_id=service_id,
                                   recorded_at=now, batch=batch, **reading_columns(facts))
    if stored == len(facts):
        return stored, facts
    _not_stored_yet(service_id, facts)  # raises on another value; else all are stored now
    inserted = set(db.session.execute(
        select(Fact.name, Fact.observed_at).order_by(Fact.id.desc()).limit(stored)).all())
    return stored, [f for f in facts if (f.name, f.observed_at) in inserted]


def _insert_concurrently(service_id, facts, now, batch):
    """(how many were stored, the facts that were new), for a database where other
    requests insert at the same time (PostgreSQL)."""
    try:
        # Facts are new as a rule: a plain INSERT, under a savepoint to come back to when
        # some were stored before (an ON CONFLICT on every post costs a third more).
        with db.session.begin_nested():
            stored = INSERT_NEW_FACTS.execute(db.session, len(facts), service_id=service_id,
                                               recorded_at=now, batch=batch,
                                               **reading_columns(facts))
            return stored, facts
    except IntegrityError:
        with db.session.begin_nested():  # a conflict raised inside leaves nothing behind
            new = _not_stored_yet(service_id, facts)
            stored = INSERT_FACTS.execute(db.session, len(new), service_id=service_id,
                                           recorded_at=now, batch=batch, **reading_columns(new))
            if stored != len(new):
                # Another request stored some of them meanwhile (the insert waited for it):
                # the same values are fine, others are a conflict.
                _not_stored_yet(service_id, new)
        return stored, new


def _not_stored_yet(service_id, facts):
    """The `facts` (in lock order) not stored for the service.

    :raise FactsConflict: for those stored with another value.
    """
    times = [f.observed_at for f in facts]
    stored = {(name, at): value for name, at, value in db.session.execute(
        select(Fact.name, Fact.observed_at, Fact.value).where(
            Fact.service_id == service_id, Fact.name.in_({f.name for f in facts}),
            Fact.observed_at.between(min(times), max(times))))}
    if not stored:  # the rule for readings newer than any stored
        return facts
    conflicts = [f for f in facts if stored.get((f.name, f.observed_at), f.value) != f.value]
    if conflicts:
        raise FactsConflict(conflicts)
    return [f for f in facts if (f.name, f.observed_at) not in stored]


@dataclass
class Collected:
    """What record_collected did: per service id, the facts it stored, those already
    stored (the same reading), and those stored before with another value (not stored)."""

    stored: dict[int, list] = field(default_factory=dict)
    already: dict[int, list] = field(default_factory=dict)
    conflicts: dict[int, list] = field(default_factory=dict)


CHUNK = 500  # services per IN list


def record_collected(facts_by_service, *, subject, actor=None, now=None, **details):
    """Store the readings of many services at once (a collector's run: `facts_by_service`
    maps a service id to its FactInputs, each already checked by the domain's rule), as
    record_facts would one service's, with one `fact:collect` audit entry for them all.

    Idempotent per (service, name, observed_at); a reading stored before with another
    value is left as it was and returned as a conflict (the others are still stored).
    `details` go into the audit entry.
    """
    now = now or utcnow()
    result = Collected()
    rows = []  # (service id, FactInput), in lock order: by service, then as record_facts
    service_ids = sorted(facts_by_service)
    for start in range(0, len(service_ids), CHUNK):
        chunk = {i: sorted(facts_by_service[i], key=_LOCK_ORDER)
                 for i in service_ids[start:start + CHUNK]}
        stored = _stored_values(chunk)
        for service_id, facts in chunk.items():
            for fact in facts:
                value = stored.get((service_id, fact.name, fact.observed_at), _NOTHING)
                kind = (rows if value is _NOTHING else
                        result.already.setdefault(service_id, []) if value == fact.value else
                        result.conflicts.setdefault(service_id, []))
                kind.append((service_id, fact) if kind is rows else fact)
    if not rows:
        return result
    batch = secrets.randbits(62)
    facts = [fact for _, fact in rows]
    stored = INSERT_FACTS.execute(db.session, len(rows), service_id=[i for i, _ in rows],
                                   recorded_at=now, batch=batch, **reading_columns(facts))
    if stored != len(rows):
        # Another writer stored some of the same readings meanwhile (PostgreSQL): this
        # batch is what this call stored.
        kept = set(db.session.execute(select(Fact.service_id, Fact.name, Fact.observed_at)
                                      .where(Fact.batch == batch)).all())
        rows = [(i, f) for i, f in rows if (i, f.name, f.observed_at) in kept]
        facts = [fact for _, fact in rows]
    newest = {(i, f.name): (i, f) for i, f in rows}  # in lock order: each one's newest last
    KEEP_LATEST.execute(db.session, len(newest), service_id=[i for i, _ in newest.values()],
                        **reading_columns([f for _, f in newest.values()]))
    for service_id, fact in rows:
        result.stored.setdefault(service_id, []).append(fact)
    record(AuditAction.FACT_COLLECT, actor=actor, subject=subject, count=len(rows),
           services=len(result.stored), names=sorted({f.name for f in facts}), batch=batch,
           digest=batch_digest(facts, service_ids=[i for i, _ in rows]), **details)
    refresh_worklists(sorted(result.stored))
    return result


_NOTHING = object()


def _stored_values(facts_by_service):
    """{(service id, name, observed_at): value} of those readings already stored."""
    facts = [f for fs in facts_by_service.values() for f in fs]
    if not facts:
        return {}
    times = [f.observed_at for f in facts]
    return {(i, name, at): value for i, name, at, value in db.session.execute(
        select(Fact.service_id, Fact.name, Fact.observed_at, Fact.value).where(
            Fact.service_id.in_(list(facts_by_service)),
            Fact.name.in_({f.name for f in facts}),
            Fact.observed_at.between(min(times), max(times))))}


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
    insert = upsert(LatestFact.__table__, db.session)
    statement = newer_reading_wins(insert.from_select(
        ["service_id", "name", "value", "observed_at", "source"], readings))
    moved = len(db.session.execute(statement.returning(LatestFact.__table__.c.name)).all())
    if moved:
        refresh_worklists(state="ops_managed")
    return moved
