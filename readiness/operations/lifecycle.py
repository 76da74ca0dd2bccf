"""Use cases for who supports a service: launch, handoff, handback, retire; the deploy
gate; handback candidates; latest facts. The rules live in readiness.lifecycle."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, func, or_, select

from .. import checklists, lifecycle
from ..audit import AuditAction, record
from ..extensions import db
from ..models import ChecklistVersion, LatestFact, ManagementEvent, Review, Service, utcnow
from .common import InvalidInput
from .facts import latest_facts

MAX_REASON = 20_000
ACTIONS = {
    "launch": AuditAction.SERVICE_LAUNCH,
    "handoff": AuditAction.SERVICE_HANDOFF,
    "handback": AuditAction.SERVICE_HANDBACK,
    "retire": AuditAction.SERVICE_RETIRE,
}


class TransitionRefused(Exception):
    """A lifecycle transition that its guards refuse; `missing` says what it needs."""

    def __init__(self, transition, missing):
        self.transition = transition
        self.missing = list(missing)
        super().__init__(f"Cannot {transition}: needs " + "; ".join(self.missing) + ".")


def _latest_approval_filter(stage):
    return ((Review.state == "approved") & (ChecklistVersion.stage == stage))


def latest_approval(service_id, stage):
    """The latest approved review of `stage` for the service, as a lifecycle.Approval."""
    row = db.session.execute(
        select(Review.id, Review.created_at, Review.approved_at,
               ChecklistVersion.valid_for_days)
        .join(Review.checklist_version)
        .where(Review.service_id == service_id, _latest_approval_filter(stage))
        .order_by(Review.approved_at.desc(), Review.id.desc()).limit(1)
    ).first()
    return lifecycle.Approval(*row) if row else None


def latest_approval_id(stage):
    """SQL: the id of the latest approved `stage` review of the enclosing query's Service
    (a correlated subquery: one seek of ix_review_service_state_approved per service)."""
    return (
        select(Review.id).join(Review.checklist_version)
        .where(Review.service_id == Service.id, _latest_approval_filter(stage))
        .order_by(Review.approved_at.desc(), Review.id.desc()).limit(1)
        .correlate(Service).scalar_subquery()
    )


def last_event(service_id, kind=None):
    query = select(ManagementEvent).where(ManagementEvent.service_id == service_id)
    if kind:
        query = query.where(ManagementEvent.kind == kind)
    return db.session.scalars(
        query.order_by(ManagementEvent.created_at.desc(), ManagementEvent.id.desc()).limit(1)
    ).first()


def situation(service, actor, reason="", now=None):
    """What the lifecycle guards need to know about `service` and `actor`."""
    handback = last_event(service.id, "handback")
    return lifecycle.Situation(
        state=service.state, now=now or utcnow(),
        actor_is_ops_lead=bool(actor and actor.is_authenticated and actor.is_ops_lead),
        actor_is_admin=bool(actor and actor.is_authenticated and actor.is_admin),
        launch_approval=latest_approval(service.id, "launch"),
        handoff_approval=latest_approval(service.id, "handoff"),
        last_handback_at=handback.created_at if handback else None,
        reason=reason,
    )


def transition(service, kind, *, actor, reason="", return_conditions="", return_items=(),
               target_date=None, now=None):
    """Move `service` by the transition `kind`, recording a management event.

    :raise TransitionRefused: naming everything missing; nothing changes then.
    :raise InvalidInput: for a reason that is too long or a target date in the past.
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON or len(return_conditions or "") > MAX_REASON:
        raise InvalidInput(f"Keep it under {MAX_REASON:,} characters.", field="reason")
    if target_date is not None and target_date < now.date():
        raise InvalidInput("The target date is in the past.", field="target_date")
    unknown = set(return_items) - set(handoff_item_titles())
    if unknown:
        raise InvalidInput(f"Not items of the handoff checklist: {', '.join(sorted(unknown))}.",
                           field="return_items")
    found = situation(service, actor, reason, now)
    outcome = lifecycle.check(kind, found)
    if not outcome.allowed:
        raise TransitionRefused(kind, outcome.missing)
    evidence = {"launch": found.launch_approval, "handoff": found.handoff_approval}.get(kind)
    event = ManagementEvent(
        service=service, kind=kind, from_state=service.state, to_state=outcome.to_state,
        actor=actor, reason=reason, review_id=evidence.review_id if evidence else None,
        created_at=now,
    )
    if kind == "handback":
        facts = latest_facts([service.id]).get(service.id, {})
        event.facts = {name: {"value": value, "observed_at": observed.isoformat(),
                              "source": source}
                       for name, (value, observed, source) in facts.items()}
        event.failing_items = [
            {"item": item["id"], "title": item["title"], "detail": result.describe()}
            for item, result in failing_handback_items(service.id, facts, now)]
        event.return_conditions = (return_conditions or "").strip()
        event.return_items = list(return_items)
        event.target_date = target_date
    db.session.add(event)
    service.state = outcome.to_state
    record(ACTIONS[kind], actor=actor, subject=service, from_state=event.from_state,
           to_state=event.to_state, reason=reason, review=event.review_id,
           return_conditions=event.return_conditions or None,
           return_items=event.return_items or None,
           target_date=target_date.isoformat() if isinstance(target_date, date) else None)
    return event


def current_checklist(stage):
    """The newest version of the newest-synced checklist of `stage`, or None."""
    return db.session.scalars(
        select(ChecklistVersion).where(ChecklistVersion.stage == stage)
        .order_by(ChecklistVersion.synced_at.desc(), ChecklistVersion.version.desc()).limit(1)
    ).first()


def handoff_item_titles():
    """{item id: title} of the current handoff checklist (what a return must pass)."""
    version = current_checklist("handoff")
    if version is None:
        return {}
    return {item["id"]: item["title"]
            for section in version.content["sections"] for item in section["items"]}


def failing_handback_items(service_id, facts, now, version=None):
    """(item, CheckResult) of the required handback checks that do not pass."""
    version = version or current_checklist("handback")
    if version is None:
        return []
    latest = {name: (value, at) for name, (value, at, _source) in facts.items()}
    return [(item, result) for item, result in
            checklists.evaluate_items(version.content, latest, now)
            if item.get("required", True) and not result.passed]


@dataclass(frozen=True)
class Candidate:
    service: Service
    failing: list


def _passes(check, now):
    """SQL: the latest_fact row is `check`'s fact and passes it (not stale, not failing)."""
    conditions = [LatestFact.name == check["fact"],
                  checklists.COMPARE[check["op"]](LatestFact.value, check["value"])]
    if check.get("max_age_days") is not None:
        conditions.append(LatestFact.observed_at >= now - timedelta(days=check["max_age_days"]))
    return and_(*conditions)


def handback_candidates(now=None):
    """Ops-managed services failing a required check of the handback checklist."""
    now = now or utcnow()
    version = current_checklist("handback")
    if version is None:
        return []
    checks = [item["check"] for section in version.content["sections"]
              for item in section["items"] if item.get("check") and item.get("required", True)]
    if not checks:
        return []
    # The database keeps the services with fewer passing latest facts than checks (a
    # superset of the candidates: one short index range per service); Python decides.
    passed = (select(func.count()).where(LatestFact.service_id == Service.id,
                                         or_(*(_passes(check, now) for check in checks)))
              .correlate(Service).scalar_subquery())
    services = db.session.scalars(
        select(Service).where(Service.state == "ops_managed", passed < len(checks))
        .order_by(Service.name)
    ).all()
    facts = latest_facts([s.id for s in services])
    candidates = []
    for service in services:
        failing = failing_handback_items(service.id, facts.get(service.id, {}), now, version)
        if failing:
            candidates.append(Candidate(service, failing))
    return candidates


# Built once: the deploy gate is the hottest read, and building a statement costs more
# than running it. Its row is what gate_decision() reads.
GATE_QUERY = (
    select(Service.slug, Service.state, Review.id.label("review_id"), Review.created_at,
           Review.approved_at, ChecklistVersion.valid_for_days)
    .select_from(Service)
    .outerjoin(Review, Review.id == latest_approval_id("launch"))
    .outerjoin(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
    .where(Service.slug == bindparam("slug"))
)


def gate_decision(row, now):
    """The gate's decision from a GATE_QUERY row, by readiness.lifecycle.gate (the one
    decision function)."""
    approval = None if row.review_id is None else lifecycle.Approval(
        row.review_id, row.created_at, row.approved_at, row.valid_for_days)
    return lifecycle.gate(row.state, approval, now)


def gate_by_slug(slug, now=None):
    """(slug, state, GateDecision) of the service with `slug`, in one query; None if unknown."""
    row = db.session.execute(GATE_QUERY, {"slug": slug}).first()
    if row is None:
        return None
    return row.slug, row.state, gate_decision(row, now or utcnow())


def gate_for(service, now=None):
    """The deploy gate's decision for `service`."""
    return gate_by_slug(service.slug, now)[2]


def open_return_conditions(service):
    """The handback whose return conditions are open (no handoff since), or None."""
    if service.state != "self_managed":
        return None
    event = last_event(service.id)
    return event if event is not None and event.kind == "handback" else None
