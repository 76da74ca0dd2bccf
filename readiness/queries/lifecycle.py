"""What the lifecycle guards and the deploy gate look at: approvals, the latest events,
handback candidates, open return conditions. The rules live in domain.lifecycle."""

from dataclasses import dataclass, replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..domain import checklists, lifecycle
from ..domain import pager as pager_rules
from ..extensions import db
from ..models import (
    ChecklistVersion,
    GateOverride,
    ManagementEvent,
    Review,
    Service,
    utcnow,
)
from . import worklists
from .checklists import current_versions, rereview_versions
from .facts import latest_facts, latest_values
from .pager import latest_load_fact, ledger, trial_rules, trials_of
from .waivers import waiver_terms, with_waivers
from .worklists import Worklist, count_upto


def _latest_approval_filter(stage):
    return ((Review.state == "approved") & (ChecklistVersion.stage == stage))


def latest_approval(service_id, stage):
    """The latest approved review of `stage` for the service, as a lifecycle.Approval
    with the waivers it leans on."""
    row = db.session.execute(
        select(Review.id, Review.created_at, Review.approved_at,
               ChecklistVersion.valid_for_days)
        .join(Review.checklist_version)
        .where(Review.service_id == service_id, _latest_approval_filter(stage))
        .order_by(Review.approved_at.desc(), Review.id.desc()).limit(1)
    ).first()
    return with_waivers(lifecycle.Approval(*row)) if row else None


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


def min_self_managed_days():
    """HANDOFF_MIN_SELF_MANAGED_DAYS (environment; default 180)."""
    return current_app.config["HANDOFF_MIN_SELF_MANAGED_DAYS"]


def situation(service, actor, reason="", now=None, *, handoff_load=False, ops_hours=None,
              over_cap_reason=""):
    """What the lifecycle guards need to know about `service` and `actor`; with
    `handoff_load`, whether taking it (its latest ops_hours_per_week fact, else the
    estimate `ops_hours`, as the ledger will count it) puts Ops over its cap."""
    handback = last_event(service.id, "handback")
    launch = last_event(service.id, "launch")
    over_cap = None
    if handoff_load and service.state == "self_managed":
        book, _ = ledger()
        load = pager_rules.load_of(latest_load_fact(service.id), ops_hours)
        if book.is_over(load):
            over_cap = book.after_taking(service.name, load)
    return lifecycle.Situation(
        state=service.state, now=now or utcnow(),
        actor_is_ops_lead=bool(actor and actor.is_authenticated and actor.is_ops_lead),
        actor_is_admin=bool(actor and actor.is_authenticated and actor.is_admin),
        launch_approval=latest_approval(service.id, "launch"),
        handoff_approval=latest_approval(service.id, "handoff"),
        last_handback_at=handback.created_at if handback else None,
        reason=reason,
        launched_at=launch.created_at if launch else None,
        min_self_managed_days=min_self_managed_days(),
        trials=trial_rules(trials_of(service.id)),
        over_cap=over_cap, over_cap_reason=over_cap_reason,
    )


@dataclass(frozen=True)
class Gate:
    """The deploy gate's answer for one service: its slug, state and the decision."""

    slug: str
    state: str
    decision: lifecycle.GateDecision
    launch_approval: lifecycle.Approval | None
    override: object = None  # the active GateOverride, if any

    def waivers_body(self):
        """The waivers its launch approval leans on, as the API's gate body lists them."""
        terms = self.launch_approval.waivers if self.launch_approval else ()
        return [{"item": w.item_id, "title": w.title, "expires_on": w.expires_on.isoformat()}
                for w in terms]


# The service and its latest launch approval in one statement, built once.
GATE_QUERY = (
    select(Service.id, Service.slug, Service.state, Review.id.label("review_id"),
           Review.created_at,
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
    now = now or utcnow()
    row = db.session.execute(GATE_QUERY, {"slug": slug}).first()
    if row is None:
        return None
    approval = None if row.review_id is None else with_waivers(lifecycle.Approval(
        row.review_id, row.created_at, row.approved_at, row.valid_for_days))
    decision = lifecycle.gate(row.state, approval, now)
    # An override lets a live service through; retired or in development, it does not.
    override = None if decision.allowed or row.state not in lifecycle.LIVE_STATES \
        else db.session.scalars(
        select(GateOverride).where(GateOverride.service_id == row.id,
                                   GateOverride.expires_at > now)
        .order_by(GateOverride.expires_at.desc()).limit(1)
        .options(joinedload(GateOverride.granted_by))).first()
    return Gate(row.slug, row.state, decision, approval, override)


def gate_body(found, environment):
    """(the gate's JSON body, whether it passes: HTTP 200 / exit 0) of a Gate for
    `environment`: the API's and the CLI's one answer (docs/lifecycle.md)."""
    answer = lifecycle.gate_answer(found.decision, gate_mode(environment),
                                   found.override is not None)
    override = found.override if answer.overridden else None
    return {"service": found.slug, "allowed": found.decision.allowed or answer.overridden,
            "state": found.state, "reasons": list(found.decision.reasons),
            "waivers": found.waivers_body(), "environment": environment,
            "advisory": answer.advisory,
            "override": None if override is None else {
                "by": override.granted_by.name if override.granted_by else None,
                "reason": override.reason,
                "expires_at": override.expires_at.isoformat().replace("+00:00", "Z")}}, \
        answer.passes


def gate_mode(environment):
    """enforce or advisory for an environment name (GATE_ENVIRONMENTS; production
    enforces, names not set are advisory)."""
    return current_app.config["GATE_ENVIRONMENTS"].get(environment, "advisory")


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
    load: object = None  # its queries.pager.Load (hours, share of Ops' load), when asked


def with_loads(worklist):
    """The candidates of `worklist` with each one's Ops load and share of the total (the
    ledger's figures: its cost follows the Ops-managed services, so the whole list shows
    it, not the dashboard or My work)."""
    _, loads = ledger()
    by_service = {load.service.id: load for load in loads}
    return Worklist([replace(c, load=by_service.get(c.service.id)) for c in worklist.items],
                    worklist.total, worklist.capped)


def handback_candidates(now=None, limit=None, offset=0):
    """Ops-managed services failing a required check of a current handback checklist, as
    a Worklist: `limit` of them (all when None) after the first `offset`, longest failing
    first, then by name.

    Each ops-managed service keeps the moment from which it fails
    (commands.worklists, decided by domain.checklists.failing_from), so the list is a
    range of ix_service_handback_failing; what each shown service fails is evaluated
    here, from its latest facts.
    """
    now = now or utcnow()
    failing = (select(Service)
               .where(Service.state == "ops_managed", Service.handback_failing_from <= now)
               .order_by(Service.handback_failing_from, Service.name, Service.id))
    services = db.session.scalars(
        failing.offset(offset) if limit is None else failing.offset(offset).limit(limit)).all()
    # The end was reached within this page: the count is known without counting.
    reached_end = limit is None or (len(services) < limit and (services or offset == 0))
    total, capped = ((offset + len(services), False) if reached_end
                     else count_upto(failing, max(worklists.COUNT_BOUND, offset + (limit or 0))))
    versions = current_versions(("handback",))
    facts = latest_facts([s.id for s in services])
    return Worklist([Candidate(service, failing_handback_items(facts.get(service.id, {}), now,
                                                               versions))
                     for service in services], total, capped)


def open_return_conditions(service):
    """The handback whose return conditions are open (no handoff since), or None."""
    if service.state != "self_managed":
        return None
    event = last_event(service.id)
    return event if event is not None and event.kind == "handback" else None


def rereview_reasons(service, now=None):
    """Why `service` needs a new launch review (domain.lifecycle.rereview_reasons), or []
    when it has no launch approval."""
    return rereview_reasons_of([service], now)[service.id]


def rereview_reasons_of(services, now=None):
    """{service id: its reasons} for many services, in three statements whatever their
    number: their latest launch approvals, the checklist versions asking for re-reviews,
    and the waivers of those approvals."""
    now = now or utcnow()
    ids = [service.id for service in services]
    rows = db.session.execute(
        select(Service.id, Review.id, Review.approved_at, Review.approved_tier,
               ChecklistVersion.checklist_id, ChecklistVersion.version,
               ChecklistVersion.valid_for_days)
        .select_from(Service)
        .join(Review, Review.id == latest_approval_id("launch"))
        .join(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
        .where(Service.id.in_(ids))).all() if ids else []
    asking = rereview_versions() if rows else {}
    terms = waiver_terms([row[1] for row in rows])
    found = {service_id: [] for service_id in ids}
    tiers = {service.id: service.tier for service in services}
    for (service_id, review_id, approved_at, approved_tier, checklist_id, version,
         valid_for_days) in rows:
        found[service_id] = lifecycle.rereview_reasons(
            now=now, expires_at=(approved_at + timedelta(days=valid_for_days)
                                 if valid_for_days is not None else None),
            approved_tier=approved_tier, tier=tiers[service_id], approved_version=version,
            rereview_version=asking.get(checklist_id), waivers=terms.get(review_id, ()))
    return found


@dataclass(frozen=True)
class NeedsRereview:
    service: Service
    reasons: list


def needing_rereview(now=None, limit=None, offset=0, team_ids=None):
    """Live services that need a launch re-review at `now`, longest waiting first, each
    with its reasons, as a Worklist (`limit` after `offset`); with `team_ids`, only
    those teams' services.

    Each live service keeps the moment from which it needs one (service.rereview_from,
    commands.worklists, decided by domain.lifecycle.rereview_from): the list is an index
    range; the reasons of each shown service are read here."""
    now = now or utcnow()
    needing = select(Service).where(Service.rereview_from <= now)
    if team_ids is not None:
        needing = needing.where(Service.team_id.in_(list(team_ids) or [0]))
    needing = needing.order_by(Service.rereview_from, Service.name, Service.id)
    page = needing.offset(offset)
    services = db.session.scalars((page if limit is None else page.limit(limit))
                                  .options(joinedload(Service.team))).all()
    total, capped = count_upto(needing, max(worklists.COUNT_BOUND, offset + (limit or 0)))
    reasons = rereview_reasons_of(services, now)
    return Worklist([NeedsRereview(service, reasons[service.id]) for service in services],
                    total, capped)
