"""Telemetry as read: each service's latest reading of each fact."""

from sqlalchemy import select

from ..extensions import db
from ..models import LatestFact


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


def latest_values(facts):
    """{name: (value, observed_at)} of one service's latest_facts() entry, as the checks
    read them."""
    return {name: (value, at) for name, (value, at, _source) in facts.items()}
