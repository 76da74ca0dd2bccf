"""Use cases for reviews: start, save answers, submit, decide, withdraw."""

from dataclasses import dataclass

from .. import locks
from ..audit import AuditAction, record
from ..domain import checklists, permissions, reviews, waivers
from ..domain.inputs import InvalidInput, is_http_link
from ..domain.reviews import ReviewAlreadyOpen, ReviewRefused
from ..extensions import db
from ..models import ANSWER_STATUSES, Answer, Decision, Review, utcnow
from ..queries.reviews import (
    answered_by_ids,
    latest_approved_of,
    open_review_of,
    review_status,
)
from ..queries.reviews import waiver_rules as current_waiver_rules
from .waivers import keep_in_force, withdraw_pending_waivers
from .worklists import refresh_worklists

MAX_EVIDENCE = 20_000
MAX_COMMENT = 20_000
MAX_LINK = 500


class SubmitRefused(ReviewRefused):
    """Submission refused because required items are not done; `blockers` says which."""

    def __init__(self, blockers):
        super().__init__(f"{len(blockers)} required item(s) are not done yet.")
        self.blockers = blockers


@dataclass(frozen=True)
class AnswerInput:
    status: str | None
    evidence: str
    link: str | None


def start_review(service, checklist_version, *, actor):
    """A new draft review of `service` against exactly `checklist_version`."""
    if service.state == "retired":
        raise ReviewRefused(f"{service.name} is retired: it takes no new reviews.")
    if checklist_version.stage == "handback":
        raise ReviewRefused("Handback criteria are checked automatically, not reviewed.")
    if not checklists.applies(checklist_version.content, service.tier):
        raise ReviewRefused(f"{checklist_version.title} does not apply to {service.name} "
                            f"(tier {service.tier}).")
    locks.hold("review-start", service.id)  # two people starting at once: one review
    open_review = open_review_of(service.id, checklist_version.checklist_id)
    if open_review is not None:
        raise ReviewAlreadyOpen(open_review, checklist_version.title)
    review = Review(service=service, checklist_version=checklist_version, state="draft",
                    created_by=actor)
    db.session.add(review)
    carried = _carry_answers(review, latest_approved_of(service.id,
                                                        checklist_version.checklist_id), actor)
    record(AuditAction.REVIEW_START, actor=actor, subject=review, service=service.slug,
           checklist=checklist_version.checklist_id, version=checklist_version.version,
           **({"previous_review": review.previous_review_id, "carried": carried}
              if review.previous_review_id else {}))
    return review


def _carry_answers(review, previous, actor):
    """A re-review starts from the `previous` approval of its checklist: the answers of
    items whose title, guidance and check are unchanged are carried, to be confirmed
    (domain.reviews.compare_items). Returns the carried item ids. The person starting
    the re-review brings them forward, so they count as its author's answers."""
    if previous is None:
        return []
    review.previous_review_id = previous.id
    compared = reviews.compare_items(previous.checklist_version.content,
                                     review.checklist_version.content)
    carried = []
    for old in previous.answers:
        if compared.get(old.item_id) == reviews.UNCHANGED:
            review.answers.append(Answer(item_id=old.item_id, status=old.status,
                                         evidence=old.evidence, link=old.link,
                                         answered_by=actor, carried_from_id=previous.id))
            carried.append(old.item_id)
    return carried


def validate_answers(content, posted):
    """Errors per item id for `posted` answers (item id -> AnswerInput); empty when fine."""
    errors = {}
    known = {item["id"] for _, item in checklists.items_of(content)}
    for item_id, answer in posted.items():
        if item_id not in known:
            errors[item_id] = "This item is not in the checklist."
        elif answer.status is not None and answer.status not in ANSWER_STATUSES:
            errors[item_id] = "Choose met, not met or not applicable."
        elif len(answer.evidence) > MAX_EVIDENCE:
            errors[item_id] = f"The evidence is too long (at most {MAX_EVIDENCE:,} characters)."
        elif answer.link and not is_http_link(answer.link):
            errors[item_id] = "The link must be a full http:// or https:// address."
        elif answer.link and len(answer.link) > MAX_LINK:
            errors[item_id] = f"The link is too long (at most {MAX_LINK} characters)."
    return errors


def save_answers(review, posted, *, actor):
    """Store the answers that changed; returns the ids of the items that changed.

    :raise ReviewRefused: if the review is not editable.
    :raise InvalidInput: if an answer is malformed (validate_answers says which).
    """
    if review.state not in ("draft", "changes_requested"):
        raise ReviewRefused("This review is no longer editable.")
    errors = validate_answers(review.checklist_version.content, posted)
    if errors:
        raise InvalidInput("; ".join(f"{item}: {message}" for item, message in errors.items()))
    existing = {a.item_id: a for a in review.answers}
    changed = []
    for item_id, new in posted.items():
        answer = existing.get(item_id)
        if answer is None:
            if new.status is None and not new.evidence and not new.link:
                continue
            answer = Answer(item_id=item_id, evidence="")
            review.answers.append(answer)
        elif (answer.status, answer.evidence, answer.link) == (new.status, new.evidence,
                                                                new.link):
            continue
        answer.status, answer.evidence, answer.link = new.status, new.evidence, new.link
        answer.carried_from_id = None  # changed: no longer the carried answer
        answer.answered_by = actor
        answer.updated_at = utcnow()
        changed.append(item_id)
    if changed:
        review.updated_at = utcnow()  # a new version of the review, for stale-save checks
        record(AuditAction.REVIEW_SAVE, actor=actor, subject=review,
               answers={item_id: posted[item_id].status for item_id in changed})
    return changed


def confirm_answers(review, item_ids, *, actor):
    """Confirm carried answers of a re-review as they are (those of `item_ids` that are
    carried); returns the ids confirmed.

    :raise ReviewRefused: if the review is not editable.
    """
    if review.state not in ("draft", "changes_requested"):
        raise ReviewRefused("This review is no longer editable.")
    wanted = set(item_ids)
    confirmed = []
    for answer in review.answers:
        if answer.item_id in wanted and answer.carried_from_id is not None:
            answer.carried_from_id = None
            answer.answered_by = actor
            answer.updated_at = utcnow()
            confirmed.append(answer.item_id)
    if confirmed:
        review.updated_at = utcnow()  # a new version of the review, for stale-save checks
        record(AuditAction.REVIEW_CONFIRM, actor=actor, subject=review, items=confirmed)
    return confirmed


def submit_review(review, *, actor):
    """Send a review to the consultants.

    :raise SubmitRefused: listing the required items not done (a failing or stale
        required check is one).
    """
    new_state = reviews.next_state(review.state, "submit")
    blockers = review_status(review).blockers
    if blockers:
        raise SubmitRefused(list(blockers))
    review.state = new_state
    review.submitted_at = utcnow()
    review.first_submitted_at = review.first_submitted_at or review.submitted_at
    record(AuditAction.REVIEW_SUBMIT, actor=actor, subject=review)


def decide_review(review, *, actor, verdict, comment, item_comments):
    """A consultant's verdict: approve (a frozen sign-off) or request changes.

    :raise ReviewRefused: if the review is not submitted, or the consultant answered
        items of it and tries to approve.
    :raise InvalidInput: for a request for changes without a comment.
    """
    if verdict not in ("approve", "request_changes"):
        raise InvalidInput("Choose approve or request changes.")
    new_state = reviews.next_state(review.state, verdict)
    comment = comment.strip()
    item_comments = {k: v.strip() for k, v in item_comments.items() if v.strip()}
    if len(comment) > MAX_COMMENT or any(len(v) > MAX_COMMENT for v in item_comments.values()):
        raise InvalidInput(f"Comments are limited to {MAX_COMMENT:,} characters.")
    if verdict == "approve" and actor.id in answered_by_ids(review):
        raise ReviewRefused(permissions.SEPARATION_OF_DUTIES)
    if verdict == "request_changes" and not (comment or item_comments):
        raise InvalidInput("Say what needs to change: write a comment.")
    if verdict == "approve" and any(w.state == waivers.WaiverState.REQUESTED
                                    for w in review.waivers):
        raise ReviewRefused("A waiver request of this review is still undecided: request "
                            "changes, so the team can have it decided or withdraw it.")
    if verdict == "approve":
        # Waivers are decided before submission; one that ran out since cannot be signed.
        expired = waivers.expired_on_review(current_waiver_rules(review).values(), utcnow())
        if expired is not None:
            raise ReviewRefused(f"The waiver of {expired.item_id} expired on "
                                f"{expired.expires_on:%Y-%m-%d}: request changes, so the "
                                f"team can meet the item or ask for a new waiver.")
    decision = Decision(review=review, consultant=actor, verdict=verdict, comment=comment,
                        item_comments=item_comments)
    db.session.add(decision)
    review.state = new_state
    if verdict == "approve":
        review.approved_at = utcnow()
        review.approved_tier = review.service.tier  # a more critical tier later: re-review
        db.session.flush()
        review.content_hash = reviews.review_content_hash(review)
        decision.content_hash = review.content_hash
        refresh_worklists([review.service_id])  # a launch or handoff may wait for a lead now
        keep_in_force(review.service_id)  # its waivers, in place of the last approval's
    action = (AuditAction.REVIEW_APPROVE if verdict == "approve"
              else AuditAction.REVIEW_REQUEST_CHANGES)
    record(action, actor=actor, subject=review, comment=comment, item_comments=item_comments,
           content_hash=review.content_hash if verdict == "approve" else None)
    return decision


def withdraw_review(review, *, actor):
    review.state = reviews.next_state(review.state, "withdraw")
    record(AuditAction.REVIEW_WITHDRAW, actor=actor, subject=review)
    withdraw_pending_waivers(review, actor=actor)
