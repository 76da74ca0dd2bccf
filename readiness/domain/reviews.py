"""Rules of reviews that need no database: states, what blocks submission, progress,
and the content hash a sign-off stores."""

from dataclasses import dataclass, field
from enum import StrEnum

from .checklists import is_required, items_of
from .hashing import content_hash
from .waivers import frozen


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
    # A re-review's answer carried from an earlier approval (its review id) and not yet
    # confirmed or changed.
    carried_from: int | None = None


@dataclass(frozen=True)
class Blocker:
    item_id: str
    title: str
    reason: str


def blocker_for(item, answer, check=None, waiver=None, now=None):
    """Why `answer` (and `check`, the item's automated check result) keeps `item` from
    submission and approval, or None: the one rule of when an item is satisfied.

    A granted `waiver` (domain.waivers.Waiver) that holds at `now` satisfies the item,
    whatever its answer and check; one still requested blocks until it is decided or
    withdrawn (waivers are decided before submission). Otherwise a carried answer not
    yet confirmed blocks (any item); then, for a required item, a failing, stale or
    missing check blocks unless the item is answered not applicable with a
    justification, and an item whose evidence is `none` needs no answer beyond its
    passing check.
    """
    if waiver is not None and now is not None and waiver.holds(now):
        return None
    if waiver is not None and waiver.state == "requested":
        return "a waiver request waits for a consultant's decision (or withdraw it)"
    if answer is not None and answer.carried_from is not None:
        return f"carried from review {answer.carried_from}: confirm it or change it"
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


def blocking_items(content, answers, checks=None, waivers=None, now=None):
    """The items that keep a review from submission, with the reason for each.

    `answers` maps item id to AnswerState; `checks` item id to its CheckResult;
    `waivers` item id to its current Waiver (read at `now`).
    """
    checks, waivers = checks or {}, waivers or {}
    blockers = []
    for _, item in items_of(content):
        item_id = item["id"]
        reason = blocker_for(item, answers.get(item_id), checks.get(item_id),
                             waivers.get(item_id), now)
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
    waivers: dict = field(default_factory=dict)


def status(content, answers, checks=None, waivers=None, now=None):
    """The Status of a review with `answers` (item id -> AnswerState), `checks` (item
    id -> CheckResult) and `waivers` (item id -> Waiver, read at `now`) against the
    checklist `content`."""
    checks, waivers = checks or {}, waivers or {}
    done, total = progress(content, answers, checks, waivers, now)
    return Status(done, total, tuple(blocking_items(content, answers, checks, waivers, now)),
                  checks, waivers)


def progress(content, answers, checks=None, waivers=None, now=None):
    """(done, total) over the required items."""
    checks, waivers = checks or {}, waivers or {}
    required = [item for _, item in items_of(content) if is_required(item)]
    done = sum(1 for item in required
               if blocker_for(item, answers.get(item["id"]), checks.get(item["id"]),
                              waivers.get(item["id"]), now) is None)
    return done, len(required)


def review_content(review):
    """What a sign-off covers: the exact checklist version, every answer and the granted
    waivers (the key is left out when there are none, so sign-offs made before waivers
    existed keep their hash)."""
    version = review.checklist_version
    content = {
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
    waivers = frozen(review.waivers)
    if waivers:
        content["waivers"] = waivers
    return content


def review_content_hash(review):
    return content_hash(review_content(review))


# How an item of a re-review's checklist compares with the previous approval's version.
UNCHANGED, CHANGED, NEW = "unchanged", "changed", "new"
# What must be the same for an answer to be carried (DESIGN.md "Re-reviews").
CARRIED_KEYS = ("title", "guidance", "check")


def compare_items(previous_content, content):
    """{item id: UNCHANGED | CHANGED | NEW} for each item of `content` against
    `previous_content` (the checklist version the previous approval was made against):
    an item is unchanged when its title, guidance and check are the same."""
    before = {item["id"]: item for _, item in items_of(previous_content)}
    compared = {}
    for _, item in items_of(content):
        old = before.get(item["id"])
        if old is None:
            compared[item["id"]] = NEW
        elif all(old.get(key) == item.get(key) for key in CARRIED_KEYS):
            compared[item["id"]] = UNCHANGED
        else:
            compared[item["id"]] = CHANGED
    return compared


def removed_items(previous_content, content):
    """The items of `previous_content` that `content` no longer has, in order."""
    kept = {item["id"] for _, item in items_of(content)}
    return [item for _, item in items_of(previous_content) if item["id"] not in kept]


REMOVED = "removed"


@dataclass(frozen=True)
class ItemChange:
    """One item of a review compared with the previous approval: how the checklist item
    changed (`checklist`: unchanged, changed, new or removed, with the keys that
    changed) and the answers then and now (None: no answer)."""

    item_id: str
    title: str
    checklist: str
    keys: tuple[str, ...]
    before: AnswerState | None
    after: AnswerState | None

    @property
    def answer_changed(self):
        def plain(answer):
            return None if answer is None else (answer.status, answer.evidence, answer.link)
        return plain(self.before) != plain(self.after)


def changes_since(previous_content, previous_answers, content, answers):
    """What differs between a review (`content`, `answers`: item id -> AnswerState) and
    the previous approval: every item whose checklist text or answer changed, in the
    checklist's order, then the items removed. Unchanged items are left out."""
    compared = compare_items(previous_content, content)
    before = {item["id"]: item for _, item in items_of(previous_content)}
    found = []
    for _, item in items_of(content):
        item_id = item["id"]
        old = before.get(item_id)
        keys = tuple(key for key in CARRIED_KEYS if old is not None
                     and old.get(key) != item.get(key))
        change = ItemChange(item_id, item["title"], compared[item_id], keys,
                            previous_answers.get(item_id), answers.get(item_id))
        if change.checklist != UNCHANGED or change.answer_changed:
            found.append(change)
    for item in removed_items(previous_content, content):
        found.append(ItemChange(item["id"], item["title"], REMOVED, (),
                                previous_answers.get(item["id"]), None))
    return found
