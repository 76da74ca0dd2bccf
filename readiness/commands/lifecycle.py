"""Use cases for who supports a service: launch, handoff, handback, retire. The rules
live in domain.lifecycle; what the guards look at is read by queries.lifecycle."""


from .. import locks
from ..audit import AuditAction, event_digest, event_entry_fields, record
from ..domain import lifecycle as domain_lifecycle
from ..domain import reviews as review_rules
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import ManagementEvent, utcnow
from ..queries.checklists import handoff_item_titles
from ..queries.facts import latest_facts
from ..queries.lifecycle import failing_handback_items, situation
from ..queries.reviews import open_reviews
from .waivers import keep_in_force, withdraw_pending_waivers
from .worklists import refresh_worklists

MAX_REASON = 20_000
ACTIONS = {
    "launch": AuditAction.SERVICE_LAUNCH,
    "handoff": AuditAction.SERVICE_HANDOFF,
    "handback": AuditAction.SERVICE_HANDBACK,
    "retire": AuditAction.SERVICE_RETIRE,
}


def transition(service, kind, *, actor, reason="", return_conditions="", return_items=(),
               target_date=None, now=None, ops_hours_estimate=None, over_cap_reason=""):
    """Move `service` by the transition `kind`, recording a management event.

    :raise domain.lifecycle.TransitionRefused: naming everything missing; nothing changes then.
    :raise InvalidInput: for a reason that is too long or a target date in the past.

    A handoff takes the weekly Ops load estimated for the service (hours; it counts in
    the ledger until an ops_hours_per_week fact arrives) and, when taking it puts Ops
    over its cap, the ops lead's reason to go over; both are kept on the event.
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
    over_cap_reason = (over_cap_reason or "").strip()
    if len(over_cap_reason) > MAX_REASON:
        raise InvalidInput(f"Keep it under {MAX_REASON:,} characters.",
                           field="over_cap_reason")
    if kind == "handoff":
        # Two handoffs at once each read the ledger before the other adds its load.
        locks.hold("ops-ledger", 0)
        if ops_hours_estimate is not None:
            ops_hours_estimate = float(ops_hours_estimate) + 0.0  # never -0.0 or an int
    found = situation(service, actor, reason, now, handoff_load=kind == "handoff",
                      ops_hours=ops_hours_estimate, over_cap_reason=over_cap_reason)
    outcome = domain_lifecycle.check(kind, found)
    if not outcome.allowed:
        raise domain_lifecycle.TransitionRefused(kind, outcome.missing)
    evidence = {"launch": found.launch_approval, "handoff": found.handoff_approval}.get(kind)
    event = ManagementEvent(
        service=service, kind=kind, from_state=service.state, to_state=outcome.to_state,
        actor=actor, reason=reason, review_id=evidence.review_id if evidence else None,
        created_at=now,
    )
    if kind == "handoff":
        event.ops_hours_estimate = ops_hours_estimate
        # Kept only when it was needed: the ledger shows handoffs that went over the cap.
        event.over_cap_reason = over_cap_reason if found.over_cap else ""
    if kind == "handback":
        facts = latest_facts([service.id]).get(service.id, {})
        event.facts = {name: {"value": value, "observed_at": observed.isoformat(),
                              "source": source}
                       for name, (value, observed, source) in facts.items()}
        event.failing_items = [
            {"item": item["id"], "title": item["title"], "detail": result.describe()}
            for item, result in failing_handback_items(facts, now)]
        event.return_conditions = (return_conditions or "").strip()
        event.return_items = list(return_items)
        event.target_date = target_date
    db.session.add(event)
    service.state = outcome.to_state
    if kind == "retire":
        _close_open_reviews(service, actor)
    db.session.flush()  # the event's id, for its entry
    refresh_worklists([service.id])
    if kind == "retire":
        keep_in_force(service.id)  # a retired service's waivers lapse with it
    record(ACTIONS[kind], actor=actor, subject=service, event=event.id,
           event_digest=event_digest(event), **event_entry_fields(event))
    return event


def _close_open_reviews(service, actor):
    """A retired service takes no reviews: those still open are withdrawn, each with its
    own entry saying why, so no consultant is left a review to decide."""
    for review in open_reviews(service.id):
        review.state = review_rules.next_state(review.state, "close")
        record(AuditAction.REVIEW_WITHDRAW, actor=actor, subject=review,
               reason="the service was retired")
        withdraw_pending_waivers(review, actor=actor)
