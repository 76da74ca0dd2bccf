"""Who carries the pager, measured: a service's pager trials, Ops' capacity and the
ledger of Ops' load (domain.pager), now and week by week."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..domain import pager
from ..domain.inputs import day_start
from ..extensions import db
from ..models import Fact, LatestFact, ManagementEvent, OpsCapacity, PagerTrial, Service
from .facts import latest_facts


def trials_of(service_id, limit=None):
    """The service's pager trials, latest first (the first `limit`, when given)."""
    latest = (select(PagerTrial).where(PagerTrial.service_id == service_id)
              .order_by(PagerTrial.ended_on.desc(), PagerTrial.id.desc()))
    return db.session.scalars(latest if limit is None else latest.limit(limit)).all()


def trial_pages(trials):
    """{trial id: [(observed_at, pages_per_week)]} of each trial's service's readings
    taken during it, beside the grades (one statement a trial; pages show a few)."""
    found = {}
    for trial in trials[:10]:
        found[trial.id] = db.session.execute(
            select(Fact.observed_at, Fact.value)
            .where(Fact.service_id == trial.service_id, Fact.name == "pages_per_week",
                   Fact.observed_at >= day_start(trial.started_on),
                   Fact.observed_at <= day_start(trial.ended_on))
            .order_by(Fact.observed_at).limit(20)).all()
    return found


def trial_rules(trials):
    return tuple(pager.Trial(t.started_on, t.ended_on, t.outcome) for t in trials)


def trial_rules_of(service_ids):
    """{service id: (domain.pager.Trial, ...)} in one statement."""
    found = {}
    for service_id, started, ended, outcome in db.session.execute(
            select(PagerTrial.service_id, PagerTrial.started_on, PagerTrial.ended_on,
                   PagerTrial.outcome).where(PagerTrial.service_id.in_(list(service_ids)))):
        found.setdefault(service_id, []).append(pager.Trial(started, ended, outcome))
    return {service_id: tuple(trials) for service_id, trials in found.items()}


def capacity_setting():
    """The latest OpsCapacity row, or None when none was ever set."""
    return db.session.scalars(select(OpsCapacity).order_by(OpsCapacity.set_at.desc(),
                                                           OpsCapacity.id.desc()).limit(1)
                              ).first()


@dataclass(frozen=True)
class Load:
    service: Service
    hours: float
    source: str  # "fact" (its latest ops_hours_per_week), "estimate" (at handoff), "none"
    share: float  # of the total load


def estimates(service_ids):
    """{service id: the ops-hours estimate of its latest handoff} (None when not given)."""
    found = {}
    for service_id, estimate in db.session.execute(
            select(ManagementEvent.service_id, ManagementEvent.ops_hours_estimate)
            .where(ManagementEvent.service_id.in_(list(service_ids)),
                   ManagementEvent.kind == "handoff")
            .order_by(ManagementEvent.created_at, ManagementEvent.id)):
        found[service_id] = estimate
    return found


def ledger(extra_service=None):
    """(domain.pager.Ledger, [Load] heaviest first) of the ops-managed services now
    (plus `extra_service`'s row read the same way, when given, for a handoff's figures).
    Its cost is the ops-managed services', what the ledger page shows."""
    setting = capacity_setting()
    services = db.session.scalars(select(Service).where(Service.state == "ops_managed")
                                  .options(joinedload(Service.team))
                                  .order_by(Service.name, Service.id)).all()
    ids = [s.id for s in services]
    facts = latest_facts(ids) if ids else {}
    guessed = estimates(ids) if ids else {}
    rows = []
    for service in services:
        reading = facts.get(service.id, {}).get(pager.LOAD_FACT)
        estimate = guessed.get(service.id)
        hours = pager.load_of(reading[0] if reading else None, estimate)
        source = "fact" if reading else "estimate" if estimate is not None else "none"
        rows.append((service, hours, source))
    total = sum(hours for _, hours, _ in rows)
    loads = sorted((Load(service, hours, source, hours / total if total else 0.0)
                    for service, hours, source in rows),
                   key=lambda load: (-load.hours, load.service.name))
    return pager.Ledger(setting.hours if setting else None,
                        {load.service.slug: load.hours for load in loads}), loads


def latest_load_fact(service_id):
    """The service's latest ops_hours_per_week reading, or None."""
    return db.session.scalar(select(LatestFact.value).where(
        LatestFact.service_id == service_id, LatestFact.name == pager.LOAD_FACT))


def ledger_history(now, weeks=12):
    """[(week's last day, load, capacity or None)] for the last `weeks` weeks: the services
    ops-managed at the end of each week (from the management events), each with its
    latest ops_hours_per_week reading by then, else its handoff estimate; the capacity
    set by then. Its cost is the handoffs' and the readings of those services in the
    window (and each one's latest before it)."""
    ends = [now - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    events = db.session.execute(
        select(ManagementEvent.service_id, ManagementEvent.to_state,
               ManagementEvent.created_at, ManagementEvent.ops_hours_estimate)
        .where(ManagementEvent.created_at <= now,
               ManagementEvent.service_id.in_(
                   select(ManagementEvent.service_id).where(ManagementEvent.kind == "handoff")))
        .order_by(ManagementEvent.created_at, ManagementEvent.id)).all()
    ids = {row.service_id for row in events}
    # The readings in the window, and each service's latest one before it.
    before = (select(Fact.service_id, func.max(Fact.observed_at).label("at"))
              .where(Fact.service_id.in_(ids), Fact.name == pager.LOAD_FACT,
                     Fact.observed_at < ends[0])
              .group_by(Fact.service_id).subquery())
    readings = sorted([
        *db.session.execute(
            select(Fact.service_id, Fact.value, Fact.observed_at)
            .join(before, (before.c.service_id == Fact.service_id)
                  & (before.c.at == Fact.observed_at))
            .where(Fact.name == pager.LOAD_FACT)).all(),
        *db.session.execute(
            select(Fact.service_id, Fact.value, Fact.observed_at)
            .where(Fact.service_id.in_(ids), Fact.name == pager.LOAD_FACT,
                   Fact.observed_at >= ends[0], Fact.observed_at <= now)).all()],
        key=lambda row: row[2]) if ids else []
    settings = db.session.execute(select(OpsCapacity.hours, OpsCapacity.set_at)
                                  .order_by(OpsCapacity.set_at, OpsCapacity.id)).all()
    points = []
    for end in ends:
        state, estimate = {}, {}
        for service_id, to_state, at, hours in events:
            if at <= end:
                state[service_id] = to_state
                if to_state == "ops_managed":  # each handoff's own estimate, as ledger()
                    estimate[service_id] = hours
        latest = {}
        for service_id, value, at in readings:
            if at <= end:
                latest[service_id] = value
        load = sum(pager.load_of(latest.get(i), estimate.get(i))
                   for i, s in state.items() if s == "ops_managed")
        capacity = next((hours for hours, at in reversed(settings) if at <= end), None)
        points.append((end.date(), load, capacity))
    return points


def over_cap_handoffs(limit=20):
    """The latest handoffs that went over the Ops cap, with the ops lead's reason."""
    return db.session.scalars(
        select(ManagementEvent).where(ManagementEvent.kind == "handoff",
                                      ManagementEvent.over_cap_reason != "")
        .options(joinedload(ManagementEvent.service), joinedload(ManagementEvent.actor))
        .order_by(ManagementEvent.created_at.desc()).limit(limit)).all()
