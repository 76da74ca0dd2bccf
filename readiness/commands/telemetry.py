"""Use case: collect telemetry from a fact source (domain.telemetry) — one instant query
per fact, whatever the number of services — and store the readings as the API would,
in one batch with one audit entry a run (commands.facts.record_collected)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from ..audit import Subject
from ..domain.facts import parse_facts
from ..domain.telemetry import SOURCE_NAME, FactSource, NotAVector, readings_of
from ..extensions import db
from ..models import Service, utcnow
from .facts import record_collected

CHUNK = 500  # slugs per IN list


class QueryFailed(Exception):
    """What the `ask` given to collect raises when a query got no answer (its message is
    shown as it is)."""


@dataclass
class FactOutcome:
    """One fact of a run: what its query gave and what became of it."""

    name: str
    error: str | None = None  # the query failed: nothing of this fact was stored
    updated: int = 0  # services given a new reading
    unchanged: int = 0  # services whose reading at that moment was already stored
    unknown: list[str] = field(default_factory=list)  # label values that are no service
    unlabelled: int = 0  # series without the service label
    ambiguous: list[str] = field(default_factory=list)  # several series for a service
    not_finite: list[str] = field(default_factory=list)  # NaN or infinite, skipped
    out_of_range: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # stored before with another value
    refused: list[str] = field(default_factory=list)  # "slug: why", by the facts rule


def collect(source: FactSource, ask: Callable[[str], dict], *, now: datetime | None = None):
    """Run each of `source`'s queries once through `ask(query) -> the answer's data`
    (raising QueryFailed) and store what they give; the caller commits. Returns a
    FactOutcome a fact, in the file's order."""
    now = now or utcnow()
    outcomes, answers = [], {}
    for fact in source.facts:
        outcome = FactOutcome(fact.name)
        outcomes.append(outcome)
        try:
            answer = readings_of(ask(fact.query), source.service_label)
        except (QueryFailed, NotAVector) as exc:
            outcome.error = str(exc)
            continue
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            outcome.error = f"the answer is not a Prometheus query result ({exc!r})"[:300]
            continue
        answers[fact.name] = answer
        outcome.unlabelled = answer.unlabelled
        outcome.ambiguous, outcome.not_finite = answer.ambiguous, answer.not_finite
        outcome.out_of_range = answer.out_of_range
    by_name = {o.name: o for o in outcomes}
    ids = _service_ids({slug for a in answers.values() for slug in a.readings})
    entries = {}  # service id -> [fact as the API takes it]
    for name, answer in answers.items():
        for slug, (value, at) in sorted(answer.readings.items()):
            if slug not in ids:
                by_name[name].unknown.append(slug)
                continue
            entries.setdefault(ids[slug], []).append(
                {"name": name, "value": value, "source": SOURCE_NAME,
                 "observed_at": at.isoformat(timespec="microseconds").replace("+00:00", "Z")})
    slugs = {i: slug for slug, i in ids.items()}
    facts_by_service = {}
    for service_id, sent in entries.items():
        facts, errors = parse_facts(sent, now)  # the API's rule for a reading
        for error in errors:
            by_name[sent[error["index"]]["name"]].refused.append(
                f"{slugs[service_id]}: {error['field']} {error['message']}")
        if facts:
            facts_by_service[service_id] = facts
    # The entry names the source by its file name (an id of at most 64 characters), and
    # keeps the path as given.
    result = record_collected(facts_by_service, now=now, file=source.path,
                              subject=Subject("fact_source", Path(source.path).name[:64]))
    for kept, counted in ((result.stored, "updated"), (result.already, "unchanged")):
        for facts in kept.values():
            for fact in facts:
                outcome = by_name[fact.name]
                setattr(outcome, counted, getattr(outcome, counted) + 1)
    for service_id, facts in result.conflicts.items():
        for fact in facts:
            by_name[fact.name].conflicts.append(slugs[service_id])
    return outcomes


def _service_ids(slugs):
    """{slug: id} of the services among `slugs`."""
    slugs, found = sorted(slugs), {}
    for start in range(0, len(slugs), CHUNK):
        found.update(db.session.execute(select(Service.slug, Service.id).where(
            Service.slug.in_(slugs[start:start + CHUNK]))).all())
    return found
