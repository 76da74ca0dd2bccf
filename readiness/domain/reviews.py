"""Rules of reviews that need no database: states, what blocks submission, progress,
and the content hash a sign-off stores."""

from dataclasses import dataclass
from enum import StrEnum

from .checklists import is_required, items_of
from .hashing import content_hash


class ReviewState(StrEnum):
    """Where a review is; stored as its value, shown as its label."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return _REVIEW_STATE_LABELS[self]


_REVIEW_STATE_LABELS = {
    ReviewState.DRAFT: "Draft",
    ReviewState.SUBMITTED: "Submitted",
    ReviewState.CHANGES_REQUESTED: "Changes requested",
    ReviewState.APPROVED: "Approved",
    ReviewState.WITHDRAWN: "Withdrawn",
}


class AnswerStatus(StrEnum):
    """A team's answer to an item; stored as its value, shown as its label."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self):
        return {"met": "Met", "not_met": "Not met", "not_applicable": "Not applicable"}[self]


REVIEW_STATES = tuple(ReviewState)
REVIEW_STATE_LABELS = {state.value: state.label for state in ReviewState}
ANSWER_STATUSES = tuple(AnswerStatus)
# Checklists of these stages are reviewed; handback criteria are checked automatically.
REVIEWED_STAGES = ("launch", "handoff")

# (state, action) -> the state it leads to. Anything else is refused.
TRANSITIONS = {
    ("draft", "submit"): "submitted",
    ("changes_requested", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "request_changes"): "changes_requested",
    ("draft", "withdraw"): "withdrawn",
    # Retiring the service closes what is still open (commands.lifecycle).
    ("draft", "close"): "withdrawn",
    ("submitted", "close"): "withdrawn",
    ("changes_requested", "close"): "withdrawn",
}
ACTION_WORDS = {
    "submit": "submitted",
    "approve": "approved",
    "request_changes": "sent back for changes",
    "withdraw": "withdrawn",
    "close": "closed",
}
STATUS_LABELS = {status.value: status.label for status in AnswerStatus}


class ReviewRefused(Exception):
    """A review action that the rules do not allow; the message says why."""


class ReviewAlreadyOpen(ReviewRefused):
    """A new review of a checklist while one of it is still open for the service."""

    def __init__(self, review_id, title):
        self.review_id = review_id
        super().__init__(f"Review #{review_id} of {title} is still open for this service: "
                         f"finish or withdraw it before starting another.")


# Reviews in these states are still open: a new one of the same checklist waits for them.
OPEN_STATES = (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.CHANGES_REQUESTED)


def next_state(state, action):
    """The state `action` leads to from `state`.

    :raise ReviewRefused: if the action is not allowed in that state.
    """
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise ReviewRefused(
            f"A review that is {state.replace('_', ' ')} cannot be {ACTION_WORDS[action]}."
        ) from None


@dataclass(frozen=True)
class AnswerState:
    status: str | None
    evidence: str
    link: str | None


@dataclass(frozen=True)
class Blocker:
    item_id: str
    title: str
    reason: str




def blocker_for(item, answer, check=None):
    """Why `answer` (and `check`, the item's automated check result) keeps the required
    `item` from submission, or None.

    A failing, stale or missing check blocks unless the item is answered not
    applicable with a justification; an item whose evidence is `none` needs no answer
    beyond its passing check.
    """
    if not is_required(item):
        return None
    is_justified_na = (answer is not None and answer.status == "not_applicable"
                       and answer.evidence.strip())
    if check is not None and not check.passed and not is_justified_na:
        return f"automated check: {check.describe()}"
    if check is not None and item.get("evidence") == "none" and (
            answer is None or answer.status is None):
        return None
    if answer is None or answer.status is None:
        return "not answered yet"
    if answer.status == "not_met":
        return "answered not met: a required item must be met before submission"
    if answer.status == "not_applicable" and not answer.evidence.strip():
        return "not applicable needs a written justification"
    return None


def blocking_items(content, answers, checks=None):
    """The required items that keep a review from submission, with the reason for each.

    `answers` maps item id to AnswerState; `checks` item id to its CheckResult.
    """
    checks = checks or {}
    blockers = []
    for _, item in items_of(content):
        reason = blocker_for(item, answers.get(item["id"]), checks.get(item["id"]))
        if reason:
            blockers.append(Blocker(item["id"], item["title"], reason))
    return blockers


@dataclass(frozen=True)
class Status:
    """Where a review stands: the required items done, out of all required ones, and
    what blocks submission. Every face shows these (page, API, export)."""

    done: int
    total: int
    blockers: tuple[Blocker, ...]
    checks: dict


def status(content, answers, checks=None):
    """The Status of a review with `answers` (item id -> AnswerState) and `checks` (item
    id -> CheckResult) against the checklist `content`."""
    checks = checks or {}
    done, total = progress(content, answers, checks)
    return Status(done, total, tuple(blocking_items(content, answers, checks)), checks)


def progress(content, answers, checks=None):
    """(done, total) over the required items."""
    checks = checks or {}
    required = [item for _, item in items_of(content) if is_required(item)]
    done = sum(1 for item in required
               if blocker_for(item, answers.get(item["id"]), checks.get(item["id"])) is None)
    return done, len(required)


def review_content(review):
    """What a sign-off covers: the exact checklist version and every answer."""
    version = review.checklist_version
    return {
        "review": review.id,
        "service_id": review.service_id,
        "checklist": {
            "id": version.checklist_id,
            "version": version.version,
            "content_hash": version.content_hash,
        },
        "answers": sorted(
            (
                {"item": a.item_id, "status": a.status, "evidence": a.evidence, "link": a.link}
                for a in review.answers
            ),
            key=lambda a: a["item"],
        ),
    }


def review_content_hash(review):
    return content_hash(review_content(review))
