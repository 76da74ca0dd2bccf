"""The fact tables' bulk statements (infrastructure): the thousand-reading insert of the
ingest, with the driver's executemany (database.PreparedInsert; the ingest target of
bench/README.md), and the latest-reading upsert. The facts command decides what to store;
this module only says how it is written."""

from functools import partial

from .database import DIALECT_INSERT, PreparedInsert
from .models import Fact, LatestFact

_FACT_COLUMNS = ("service_id", "name", "value", "observed_at", "source", "recorded_at",
                 "batch")
# Readings already stored are skipped, and compared afterwards (see commands.facts.record_facts).
INSERT_FACTS = PreparedInsert(Fact.__table__, _FACT_COLUMNS,
                              on_conflict=lambda insert: insert.on_conflict_do_nothing())
INSERT_NEW_FACTS = PreparedInsert(Fact.__table__, _FACT_COLUMNS)


def newer_reading_wins(insert):
    """ON CONFLICT for latest_fact: a reading replaces the stored one only if newer."""
    return insert.on_conflict_do_update(
        index_elements=["service_id", "name"],
        set_={"value": insert.excluded.value, "observed_at": insert.excluded.observed_at,
              "source": insert.excluded.source},
        where=LatestFact.__table__.c.observed_at < insert.excluded.observed_at)


KEEP_LATEST = PreparedInsert(
    LatestFact.__table__, ("service_id", "name", "value", "observed_at", "source"),
    on_conflict=newer_reading_wins)


def upsert(table, session):
    """The dialect's insert() for `table`, which takes ON CONFLICT (SQLite, PostgreSQL)."""
    return DIALECT_INSERT[session.get_bind().dialect.name](table)


def reading_columns(facts):
    """The columns name, value, observed_at and source of `facts` (FactInputs), for the
    statements above: each time bound from the RFC 3339 text it was read from, if any."""
    if not facts:
        return dict.fromkeys(("name", "value", "observed_at", "source"), ())
    names, values, moments, sources, texts = zip(*facts, strict=True)
    observed_type = Fact.__table__.c.observed_at.type
    return {"name": names, "value": values, "source": sources,
            "observed_at": partial(observed_type.bind_rfc3339_column, moments, texts)}
