"""The "needs a re-review" rule (DESIGN.md "Re-reviews"): every trigger, and rows that
do not trigger."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readiness.domain import reviews
from readiness.domain.lifecycle import rereview_reasons
from readiness.domain.reviews import AnswerState

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
QUIET = {"expires_at": NOW + timedelta(days=200), "approved_tier": 2, "tier": 2,
         "approved_version": 1, "rereview_version": None}


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, []),
    ({"expires_at": None}, []),
    ({"expires_at": NOW + timedelta(days=31)}, []),
    ({"expires_at": NOW + timedelta(days=30)}, ["its launch approval expires on 2027-01-03"]),
    ({"expires_at": NOW - timedelta(days=1)}, ["its launch approval expired on 2026-12-03"]),
    ({"tier": 3}, []),  # less critical: no re-review
    ({"tier": 1}, ["its tier became more critical (tier 2 when approved, tier 1 now)"]),
    ({"approved_tier": None, "tier": 1}, []),  # not kept for an old approval
    ({"rereview_version": 1}, []),  # the approved version itself asks nothing
    ({"rereview_version": 2},
     ["version 2 of its launch checklist asks for a re-review (approved against version 1)"]),
    ({"tier": 1, "rereview_version": 3, "expires_at": NOW},
     ["its launch approval expired on 2026-12-04",
      "its tier became more critical (tier 2 when approved, tier 1 now)",
      "version 3 of its launch checklist asks for a re-review (approved against version 1)"]),
])
def test_each_trigger(changes, expected):
    assert rereview_reasons(now=NOW, **{**QUIET, **changes}) == expected


def _content(*items):
    return {"sections": [{"id": "s", "title": "S", "items": list(items)}]}


BASE = {"id": "a", "title": "A", "guidance": "g", "required": True, "evidence": "text",
        "check": None}


@pytest.mark.parametrize(("after", "expected"), [
    (BASE, "unchanged"),
    ({**BASE, "required": False}, "unchanged"),  # only title, guidance and check count
    ({**BASE, "evidence": "link"}, "unchanged"),
    ({**BASE, "title": "A2"}, "changed"),
    ({**BASE, "guidance": "g2"}, "changed"),
    ({**BASE, "check": {"fact": "x", "op": "<", "value": 1}}, "changed"),
    ({**BASE, "id": "b"}, "new"),
])
def test_which_items_a_re_review_carries(after, expected):
    assert reviews.compare_items(_content(BASE), _content(after)) == {after["id"]: expected}


def test_changes_since_lists_changed_items_and_answers_then_removed_ones():
    before = _content(BASE, {**BASE, "id": "b"}, {**BASE, "id": "gone"})
    after = _content({**BASE, "title": "A2"}, {**BASE, "id": "b"}, {**BASE, "id": "c"})
    old = {"a": AnswerState("met", "x", None), "b": AnswerState("met", "y", None),
           "gone": AnswerState("met", "z", None)}
    same_b = {"b": AnswerState("met", "y", None, carried_from=3)}
    found = reviews.changes_since(before, old, after, same_b)
    assert [(c.item_id, c.checklist, c.keys, c.answer_changed) for c in found] == [
        ("a", "changed", ("title",), True), ("c", "new", (), False),
        ("gone", "removed", (), True)]


def test_an_expiring_waiver_is_a_reason():
    from readiness.domain.lifecycle import WaiverTerm
    soon = WaiverTerm("pager-load", "Pager load", (NOW + timedelta(days=10)).date())
    later = WaiverTerm("alerts", "Alerts", (NOW + timedelta(days=60)).date())
    assert rereview_reasons(now=NOW, **QUIET, waivers=(later, soon)) == [
        "the waiver of pager-load it leans on expires on 2026-12-14"]
    assert rereview_reasons(now=NOW, **QUIET, waivers=(later,)) == []


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1),
                       timezones=st.just(UTC))


@given(now=moments, approved_at=moments, valid=st.none() | st.integers(1, 800),
       approved_tier=st.none() | st.integers(1, 3), tier=st.integers(1, 3),
       approved_version=st.integers(1, 3), rereview_version=st.none() | st.integers(1, 4),
       waiver_days=st.lists(st.integers(1, 90), max_size=3))
def test_the_kept_moment_says_exactly_when_a_reason_appears(
        now, approved_at, valid, approved_tier, tier, approved_version, rereview_version,
        waiver_days):
    from readiness.domain.lifecycle import WaiverTerm, rereview_from
    expires_at = approved_at + timedelta(days=valid) if valid else None
    waivers = tuple(WaiverTerm(f"i{n}", "I", (approved_at + timedelta(days=d)).date())
                    for n, d in enumerate(waiver_days))
    facts = {"expires_at": expires_at, "approved_tier": approved_tier, "tier": tier,
             "approved_version": approved_version, "rereview_version": rereview_version,
             "waivers": waivers}
    if now < approved_at:
        return  # a moment before the approval it is about is never asked
    moment = rereview_from(approved_at=approved_at, **facts)
    assert bool(rereview_reasons(now=now, **facts)) is (moment is not None and now >= moment)
