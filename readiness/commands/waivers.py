"""Use cases for waivers: ask, decide (grant or refuse), withdraw. The rules are
domain.waivers'; each change writes its audit entry about the review."""

from sqlalchemy import select, update

from ..audit import AuditAction, record
from ..domain import checklists, waivers
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import AuditEntry, ChecklistVersion, Review, Service, Waiver, utcnow


class WaiverInvalid(InvalidInput):
    """A request with field errors: `errors` maps field to message."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def request_waiver(review, *, actor, item_id, reason, control, expires_on, today=None):
    """A team's request to waive one item of `review` until `expires_on` (text).

    :raise WaiverInvalid: for field errors; InvalidInput when none may be asked now.
    """
    content = review.checklist_version.content
    known = {item["id"] for _, item in checklists.items_of(content)}
    parsed, errors = waivers.parse_request(
        item_id=item_id, reason=reason, control=control, expires_on=expires_on,
        today=today or utcnow().date(), max_days=waivers.max_waiver_days(content),
        known_items=known)
    if errors:
        raise WaiverInvalid(errors)
    active = any(w.item_id == parsed.item_id and w.state in waivers.ACTIVE_STATES
                 for w in review.waivers)
    waivers.check_request(review.state, active)
    waiver = Waiver(review=review, item_id=parsed.item_id, state=waivers.WaiverState.REQUESTED,
                    reason=parsed.reason, control=parsed.control,
                    expires_on=parsed.expires_on, requested_by=actor, comment="")
    db.session.add(waiver)
    db.session.flush()
    record(AuditAction.WAIVER_REQUEST, actor=actor, subject=review, waiver=waiver.id,
           item=waiver.item_id, reason=waiver.reason, control=waiver.control,
           expires_on=waiver.expires_on.isoformat())
    return waiver


def requested_by_ids(waiver):
    """Who asked for `waiver`: its column and the record's waiver:request entry (so
    rewriting the column does not make the requester eligible to decide it)."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.subject_type == "review", AuditEntry.subject_id == str(waiver.review_id),
        AuditEntry.action == str(AuditAction.WAIVER_REQUEST)))
    recorded = {e.actor_id for e in entries if e.changes.get("waiver") == waiver.id}
    return ({waiver.requested_by_id} | recorded) - {None}


def decide_waiver(waiver, *, actor, verdict, comment):
    """A consultant who did not ask for it grants or refuses `waiver`.

    :raise InvalidInput: when the decision is not allowed (domain.waivers.check_decision).
    """
    comment = (comment or "").strip()
    if len(comment) > waivers.MAX_TEXT:
        raise InvalidInput(f"The comment is limited to {waivers.MAX_TEXT:,} characters.")
    if verdict == "refuse" and not comment:
        raise InvalidInput("Say why the waiver is refused: write a comment.")
    new_state = waivers.check_decision(
        verdict=verdict, state=waiver.state, review_state=waiver.review.state,
        is_consultant=actor.is_consultant,
        requested_by_decider=actor.id in requested_by_ids(waiver))
    waiver.state, waiver.decided_by, waiver.decided_at = new_state, actor, utcnow()
    waiver.comment = comment
    action = (AuditAction.WAIVER_GRANT if new_state == waivers.WaiverState.GRANTED
              else AuditAction.WAIVER_REFUSE)
    record(action, actor=actor, subject=waiver.review, waiver=waiver.id,
           item=waiver.item_id, comment=comment, expires_on=waiver.expires_on.isoformat())


def withdraw_waiver(waiver, *, actor):
    """The team takes back a waiver (asked or granted) while the review is editable."""
    if waiver.state not in waivers.ACTIVE_STATES:
        raise InvalidInput(f"This waiver is already {waiver.state}.")
    if waiver.review.state not in waivers.REQUESTABLE_REVIEW_STATES:
        raise InvalidInput("The review is not editable: its waivers stay as they are.")
    waiver.state = waivers.WaiverState.WITHDRAWN
    record(AuditAction.WAIVER_WITHDRAW, actor=actor, subject=waiver.review,
           waiver=waiver.id, item=waiver.item_id)


def withdraw_pending_waivers(review, *, actor):
    """A review withdrawn or closed takes its undecided waiver requests with it (out of
    the consultants' queue), each audited."""
    for waiver in review.waivers:
        if waiver.state == waivers.WaiverState.REQUESTED:
            waiver.state = waivers.WaiverState.WITHDRAWN
            record(AuditAction.WAIVER_WITHDRAW, actor=actor, subject=review,
                   waiver=waiver.id, item=waiver.item_id, reason="the review was closed")


def keep_in_force(service_id):
    """Mark which of the service's waivers are in force (Waiver.in_force): granted, on
    the service's latest approval of a stage (launch, handoff: what its gate and its
    lifecycle guards lean on), the service not retired. Called by every write that moves
    it: an approval and a retirement."""
    service = db.session.get(Service, service_id)
    approvals = db.session.execute(
        select(Review.id, ChecklistVersion.stage)
        .join(Review.checklist_version)
        .where(Review.service_id == service_id, Review.state == "approved")
        .order_by(Review.approved_at, Review.id)).all()
    latest = {stage: review_id for review_id, stage in approvals}
    in_force = set(latest.values()) if service.state != "retired" else set()
    db.session.execute(
        update(Waiver)
        .where(Waiver.review_id.in_(select(Review.id).where(Review.service_id == service_id)))
        .values(in_force=Waiver.review_id.in_(in_force or {0})
                & (Waiver.state == waivers.WaiverState.GRANTED))
        .execution_options(synchronize_session="fetch"))
