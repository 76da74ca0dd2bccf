"""What the lifecycle guards and the deploy gate look at: approvals, the latest events,
handback candidates, open return conditions. The rules live in domain.lifecycle."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, func, or_, select

from ..domain import checklists, lifecycle
from ..extensions import db
from ..models import ChecklistVersion, LatestFact, ManagementEvent, Review, Service, utcnow
from .checklists import current_versions
from .facts import latest_facts, latest_values


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


@dataclass(frozen=True)
class Gate:
    """The deploy gate's answer for one service: its slug, state and the decision."""

    slug: str
    state: str
    decision: lifecycle.GateDecision
    launch_approval: lifecycle.Approval | None


# The service and its latest launch approval in one statement, built once.
GATE_QUERY = (
    select(Service.slug, Service.state, Review.id.label("review_id"), Review.created_at,
           Review.approved_at, ChecklistVersion.valid_for_days)
    .select_from(Service)
    .outerjoin(Review, Review.id == latest_approval_id("launch"))
    .outerjoin(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
    .where(Service.slug == bindparam("slug"))
)


def gate(slug, now=None):
    """The deploy gate for the service `slug` (a Gate), or None for an unknown service.

    The one loader of the gate: the API, the CLI and the service page all ask it, and it
    decides by domain.lifecycle.gate."""
    row = db.session.execute(GATE_QUERY, {"slug": slug}).first()
    if row is None:
        return None
    approval = None if row.review_id is None else lifecycle.Approval(
        row.review_id, row.created_at, row.approved_at, row.valid_for_days)
    return Gate(row.slug, row.state, lifecycle.gate(row.state, approval, now or utcnow()),
                approval)


def _required_checks(versions):
    return [(version, item) for version in versions
            for _, item in checklists.items_of(version.content)
            if item.get("check") and checklists.is_required(item)]


def failing_handback_items(facts, now, versions=None):
    """(item, CheckResult) of the required checks of the current handback checklists
    that the latest `facts` of a service do not pass."""
    versions = current_versions(("handback",)) if versions is None else versions
    latest = latest_values(facts)
    return [(item, result) for version in versions
            for item, result in checklists.evaluate_items(version.content, latest, now)
            if checklists.is_required(item) and not result.passed]


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
    """Ops-managed services failing a required check of a current handback checklist."""
    now = now or utcnow()
    versions = current_versions(("handback",))
    checks = [item["check"] for _, item in _required_checks(versions)]
    if not checks:
        return []
    # The database keeps the services with fewer passing latest facts than checks (a
    # superset of the candidates: one short index range per service); Python decides by
    # evaluate_check. (A latest fact counts once even where two checks read it: the
    # count stays below theirs, and the service stays in the superset.)
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
        failing = failing_handback_items(facts.get(service.id, {}), now, versions)
        if failing:
            candidates.append(Candidate(service, failing))
    return candidates


def open_return_conditions(service):
    """The handback whose return conditions are open (no handoff since), or None."""
    if service.state != "self_managed":
        return None
    event = last_event(service.id)
    return event if event is not None and event.kind == "handback" else None
