"""What a review's page, the API and the export show of it: answers, automated checks,
progress and blockers, and who answered it."""

from sqlalchemy import func, select

from ..audit import AuditAction
from ..domain import checklists, reviews, waivers
from ..domain.reviews import AnswerState
from ..extensions import db
from ..models import AuditEntry, ChecklistVersion, Review, utcnow
from .facts import latest_facts, latest_values


def answer_states(review):
    return {a.item_id: AnswerState(a.status, a.evidence, a.link, a.carried_from_id)
            for a in review.answers}


def current_waivers(review):
    """{item id: the item's waiver asked for or granted} (at most one each), as Waiver
    rows."""
    return {w.item_id: w for w in review.waivers if w.state in waivers.ACTIVE_STATES}


def waiver_rules(review):
    """{item id: domain.waivers.Waiver} of the review's current waivers."""
    return {item_id: waivers.Waiver(w.item_id, w.state, w.expires_on)
            for item_id, w in current_waivers(review).items()}


def check_results(review, now=None, facts=None):
    """{item id: CheckResult} of the review's automated checks against the latest facts
    (`facts`: the service's, when the caller read them for many reviews at once)."""
    if facts is None:
        facts = latest_facts([review.service_id]).get(review.service_id, {})
    results = checklists.evaluate_items(review.checklist_version.content,
                                        latest_values(facts), now or utcnow())
    return {item["id"]: result for item, result in results}


def review_status(review, now=None, facts=None):
    """The review's reviews.Status: progress and blockers, automated checks included.

    The one loader behind the review page, the API, the Markdown export and the service
    list's readiness (which passes the `facts` it read for a whole page)."""
    now = now or utcnow()
    return reviews.status(review.checklist_version.content, answer_states(review),
                          check_results(review, now, facts), waiver_rules(review), now)


def answered_by_ids(review):
    """Everyone who ever saved an answer of `review` (or confirmed a carried one, carried
    them in by starting a re-review, or asked for a waiver), not only the latest
    authors.

    Read from the record, so overwriting a consultant's answer does not make them
    eligible to approve.
    """
    savers = db.session.scalars(
        select(AuditEntry.actor_id).where(
            AuditEntry.subject_type == "review", AuditEntry.subject_id == str(review.id),
            AuditEntry.action.in_((str(AuditAction.REVIEW_SAVE),
                                   str(AuditAction.REVIEW_CONFIRM),
                                   str(AuditAction.WAIVER_REQUEST))),
            AuditEntry.actor_id.is_not(None)).distinct())
    current = {a.answered_by_id for a in review.answers if a.answered_by_id is not None}
    # A re-review's starter brought the carried answers forward: theirs, confirmed or not.
    carrier = {review.created_by_id} if review.previous_review_id else set()
    return (current | set(savers) | carrier) - {None}


def open_review_of(service_id, checklist_id):
    """The id of the service's oldest open review of the checklist, or None."""
    return db.session.scalar(
        select(Review.id).join(Review.checklist_version)
        .where(Review.service_id == service_id, Review.state.in_(reviews.OPEN_STATES),
               ChecklistVersion.checklist_id == checklist_id)
        .order_by(Review.id).limit(1))


def open_reviews(service_id):
    """The service's reviews still open (draft, submitted, changes requested)."""
    return db.session.scalars(select(Review).where(
        Review.service_id == service_id, Review.state.in_(reviews.OPEN_STATES))
        .order_by(Review.id)).all()


def open_review_count(service_id):
    return db.session.scalar(select(func.count()).select_from(Review).where(
        Review.service_id == service_id, Review.state.in_(reviews.OPEN_STATES)))


def latest_approved_of(service_id, checklist_id):
    """The service's latest approved review of the checklist (any version), or None: the
    review a re-review starts from."""
    return db.session.scalar(
        select(Review).join(Review.checklist_version)
        .where(Review.service_id == service_id, Review.state == "approved",
               ChecklistVersion.checklist_id == checklist_id)
        .order_by(Review.approved_at.desc(), Review.id.desc()).limit(1))


def previous_approval_before(review):
    """The latest approval of `review`'s checklist for its service approved before
    `review` was started (not `review` itself), or None."""
    return db.session.scalar(
        select(Review).join(Review.checklist_version)
        .where(Review.service_id == review.service_id, Review.state == "approved",
               Review.id != review.id, Review.approved_at < review.created_at,
               ChecklistVersion.checklist_id == review.checklist_version.checklist_id)
        .order_by(Review.approved_at.desc(), Review.id.desc()).limit(1))
