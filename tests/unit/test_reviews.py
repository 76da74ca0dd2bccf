"""The rules of reviews, as tables: transitions, what blocks submission, progress."""

import pytest

from readiness.domain import reviews
from readiness.domain.checklists import CheckResult
from readiness.domain.reviews import AnswerState, ReviewRefused

ALL = [(state, action) for state in ("draft", "submitted", "changes_requested", "approved",
                                     "withdrawn")
       for action in ("submit", "approve", "request_changes", "withdraw", "close")]
ALLOWED = {("draft", "submit"): "submitted", ("changes_requested", "submit"): "submitted",
           ("submitted", "approve"): "approved",
           ("submitted", "request_changes"): "changes_requested",
           ("draft", "withdraw"): "withdrawn",
           # closed when the service is retired
           ("draft", "close"): "withdrawn", ("submitted", "close"): "withdrawn",
           ("changes_requested", "close"): "withdrawn"}


@pytest.mark.parametrize(("state", "action"), ALL)
def test_every_state_and_action(state, action):
    if (state, action) in ALLOWED:
        assert reviews.next_state(state, action) == ALLOWED[(state, action)]
    else:
        with pytest.raises(ReviewRefused, match=state.replace("_", " ")):
            reviews.next_state(state, action)


TEXT = {"id": "i", "title": "I", "required": True, "evidence": "text"}
OPTIONAL = {**TEXT, "required": False}
CHECK_ONLY = {**TEXT, "evidence": "none"}
PASS = CheckResult("pass", "pages_per_week", "pages_per_week <= 5", 2.0)
FAIL = CheckResult("fail", "pages_per_week", "pages_per_week <= 5", 9.0)
MISSING = CheckResult("missing", "pages_per_week", "pages_per_week <= 5")


def answer(status, evidence=""):
    return AnswerState(status, evidence, None)


@pytest.mark.parametrize(("item", "given", "check", "blocked"), [
    (TEXT, None, None, "not answered yet"),
    (TEXT, answer(None, "draft text"), None, "not answered yet"),
    (TEXT, answer("met"), None, None),
    (TEXT, answer("not_met"), None, "answered not met"),
    (TEXT, answer("not_applicable"), None, "justification"),
    (TEXT, answer("not_applicable", "  "), None, "justification"),
    (TEXT, answer("not_applicable", "No traffic yet."), None, None),
    (OPTIONAL, None, None, None),
    (OPTIONAL, answer("not_met"), FAIL, None),
    (TEXT, answer("met"), FAIL, "automated check: pages_per_week = 9"),
    (TEXT, answer("met"), MISSING, "automated check: no pages_per_week fact yet"),
    (TEXT, answer("not_applicable", "Batch job."), FAIL, None),
    (TEXT, answer("met"), PASS, None),
    (CHECK_ONLY, None, PASS, None),
    (CHECK_ONLY, None, FAIL, "automated check"),
    (CHECK_ONLY, answer("not_met"), PASS, "answered not met"),
    (TEXT, None, PASS, "not answered yet"),
])
def test_what_blocks_submission(item, given, check, blocked):
    reason = reviews.blocker_for(item, given, check)
    if blocked is None:
        assert reason is None
    else:
        assert blocked in reason


CONTENT = {"sections": [
    {"id": "a", "items": [{**TEXT, "id": "one", "title": "One"},
                          {**OPTIONAL, "id": "two", "title": "Two"}]},
    {"id": "b", "items": [{**CHECK_ONLY, "id": "three", "title": "Three"}]},
]}


@pytest.mark.parametrize(("answers", "checks", "done", "blocking"), [
    ({}, {}, 0, ["one", "three"]),
    ({"one": answer("met")}, {}, 1, ["three"]),
    ({"one": answer("met")}, {"three": PASS}, 2, []),
    ({"one": answer("met"), "two": answer("not_met")}, {"three": FAIL}, 1, ["three"]),
])
def test_status_counts_required_items_and_lists_blockers_in_order(answers, checks, done,
                                                                   blocking):
    status = reviews.status(CONTENT, answers, checks)
    assert (status.done, status.total) == (done, 2)
    assert [b.item_id for b in status.blockers] == blocking
    assert (status.done, status.total) == reviews.progress(CONTENT, answers, checks)
