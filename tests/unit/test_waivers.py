"""The waiver rules as tables: what a waiver does to an item (waiver state x answer x
check -> satisfied or not), requests, decisions, and what the gate makes of them."""

from datetime import UTC, date, datetime, timedelta

import pytest

from readiness.domain import lifecycle, waivers
from readiness.domain.checklists import CheckResult
from readiness.domain.inputs import InvalidInput
from readiness.domain.reviews import AnswerState, blocker_for
from readiness.domain.waivers import Waiver

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
ITEM = {"id": "pager-load", "title": "Pager load", "required": True, "evidence": "text"}
OPTIONAL = {**ITEM, "required": False}

MET = AnswerState("met", "Fine.", None)
NOT_MET = AnswerState("not_met", "", None)
NA_JUSTIFIED = AnswerState("not_applicable", "No pager: batch only.", None)
CARRIED = AnswerState("met", "Fine last year.", None, carried_from=7)
PASS = CheckResult("pass", "pages_per_week", "pages_per_week <= 5", 2.0, NOW, 1.0)
FAIL = CheckResult("fail", "pages_per_week", "pages_per_week <= 5", 9.0, NOW, 1.0)
STALE = CheckResult("stale", "pages_per_week", "pages_per_week <= 5", 2.0, NOW, 40.0)

GRANTED = Waiver("pager-load", "granted", TODAY + timedelta(days=10))
GRANTED_EXPIRED = Waiver("pager-load", "granted", TODAY)  # expired at 00:00 today
REQUESTED = Waiver("pager-load", "requested", TODAY + timedelta(days=10))
REFUSED = Waiver("pager-load", "refused", TODAY + timedelta(days=10))
WITHDRAWN = Waiver("pager-load", "withdrawn", TODAY + timedelta(days=10))


@pytest.mark.parametrize(("waiver", "answer", "check", "satisfied"), [
    # No waiver: the item stands on its answer and check.
    (None, None, None, False),
    (None, MET, None, True),
    (None, NOT_MET, None, False),
    (None, MET, FAIL, False),
    (None, MET, STALE, False),
    (None, MET, PASS, True),
    (None, NA_JUSTIFIED, FAIL, True),
    (None, CARRIED, PASS, False),
    # A granted waiver that holds satisfies the item whatever its answer and check.
    (GRANTED, None, None, True),
    (GRANTED, NOT_MET, None, True),
    (GRANTED, NOT_MET, FAIL, True),
    (GRANTED, None, STALE, True),
    (GRANTED, CARRIED, FAIL, True),
    (GRANTED, MET, PASS, True),
    # Expired, asked for, refused or withdrawn: as if there were none.
    (GRANTED_EXPIRED, NOT_MET, None, False),
    (GRANTED_EXPIRED, MET, FAIL, False),
    (GRANTED_EXPIRED, MET, PASS, True),
    (REQUESTED, NOT_MET, None, False),
    (REQUESTED, None, FAIL, False),
    (REQUESTED, MET, None, False),  # decided before submission, whatever the answer
    (REQUESTED, MET, PASS, False),
    (REFUSED, MET, FAIL, False),
    (REFUSED, NA_JUSTIFIED, None, True),
    (WITHDRAWN, None, None, False),
])
def test_what_a_waiver_does_to_a_required_item(waiver, answer, check, satisfied):
    assert (blocker_for(ITEM, answer, check, waiver, NOW) is None) is satisfied


def test_an_optional_item_blocks_only_with_an_unconfirmed_carried_answer():
    assert blocker_for(OPTIONAL, NOT_MET, FAIL, None, NOW) is None
    assert "carried from review 7: confirm it" in blocker_for(OPTIONAL, CARRIED, None, None, NOW)


@pytest.mark.parametrize(("moment", "holds"), [
    (datetime(2026, 12, 14, 23, 59, 59, tzinfo=UTC), True),
    (datetime(2026, 12, 15, 0, 0, tzinfo=UTC), False),
    (datetime(2026, 12, 16, tzinfo=UTC), False),
])
def test_a_waiver_holds_until_the_start_of_its_expiry_date(moment, holds):
    assert Waiver("x", "granted", date(2026, 12, 15)).holds(moment) is holds


def parse(**fields):
    values = {"item_id": "pager-load", "reason": "Migration next month.",
              "control": "Daily review.", "expires_on": "2026-12-20", **fields}
    return waivers.parse_request(**values, today=TODAY, max_days=30,
                                 known_items={"pager-load"})


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reason": " "}, "reason", "Say why the item cannot be met now."),
    ({"control": ""}, "control", "Say what limits the risk meanwhile."),
    ({"reason": "x" * 5001}, "reason", "At most 5,000 characters."),
    ({"expires_on": "2026-12-05"}, "expires_on", "must be after today"),
    ({"expires_on": "2027-01-05"}, "expires_on", "at most 30 days: until 2027-01-04"),
    ({"expires_on": "2026-13-01"}, "expires_on", "YYYY-MM-DD"),
    ({"expires_on": "20261220"}, "expires_on", "YYYY-MM-DD"),
    ({"item_id": "other"}, "item", "Choose an item"),
])
def test_bad_requests_name_the_field(fields, field, message):
    parsed, errors = parse(**fields)
    assert parsed is None and message in errors[field]


def test_a_good_request_is_trimmed_and_may_end_on_the_last_allowed_day():
    parsed, errors = parse(reason="  Migration.  ", expires_on="2027-01-04")
    assert errors == {} and parsed.reason == "Migration." and parsed.expires_on == date(
        2027, 1, 4)


@pytest.mark.parametrize(("kwargs", "result"), [
    ({}, "granted"),
    ({"verdict": "refuse"}, "refused"),
    ({"verdict": "maybe"}, "Choose grant or refuse."),
    ({"is_consultant": False}, "Only a consultant"),
    ({"requested_by_decider": True}, "separation of duties"),
    ({"state": "granted"}, "already granted"),
    ({"state": "withdrawn"}, "already withdrawn"),
    ({"review_state": "submitted"}, "this one is submitted"),
    ({"review_state": "approved"}, "this one is approved"),
    ({"review_state": "changes_requested"}, "granted"),
])
def test_decisions(kwargs, result):
    values = {"verdict": "grant", "state": "requested", "review_state": "draft",
              "is_consultant": True, "requested_by_decider": False, **kwargs}
    try:
        assert waivers.check_decision(**values) == result
    except InvalidInput as exc:
        assert result in str(exc)


@pytest.mark.parametrize(("review_state", "active", "allowed"), [
    ("draft", False, True), ("changes_requested", False, True), ("draft", True, False),
    ("submitted", False, False), ("approved", False, False), ("withdrawn", False, False),
])
def test_requests(review_state, active, allowed):
    try:
        waivers.check_request(review_state, active)
        assert allowed
    except InvalidInput:
        assert not allowed


def approval(*terms, valid_for_days=365):
    return lifecycle.Approval(1, NOW - timedelta(days=20), NOW - timedelta(days=10),
                              valid_for_days, tuple(terms))


SOON = lifecycle.WaiverTerm("pager-load", "Pager load", TODAY + timedelta(days=3))
GONE = lifecycle.WaiverTerm("runbooks", "Runbooks", TODAY - timedelta(days=1))
LATER_GONE = lifecycle.WaiverTerm("alerts", "Alerts", TODAY)


@pytest.mark.parametrize(("terms", "allowed", "reason"), [
    ((), True, None),
    ((SOON,), True, None),
    ((GONE,), False, f"the waiver of runbooks expired on {GONE.expires_on}: a re-review "
                     f"is needed"),
    ((SOON, LATER_GONE, GONE), False, "the waiver of runbooks expired"),  # the first
    ((LATER_GONE,), False, "the waiver of alerts expired"),
])
def test_the_gate_refuses_once_a_waiver_of_the_launch_approval_expired(terms, allowed, reason):
    decision = lifecycle.gate("self_managed", approval(*terms), NOW)
    assert decision.allowed is allowed
    assert reason is None or any(r.startswith(reason) for r in decision.reasons)


def test_an_expired_approval_is_named_before_its_waivers():
    decision = lifecycle.gate("self_managed", approval(GONE, valid_for_days=5), NOW)
    assert [r[:28] for r in decision.reasons] == ["the launch approval expired "]


@pytest.mark.parametrize(("terms", "until"), [
    ((), NOW - timedelta(days=10) + timedelta(days=365)),
    ((SOON,), datetime.combine(SOON.expires_on, datetime.min.time(), UTC)),
])
def test_a_launch_may_be_made_until_the_first_waiver_expires(terms, until):
    situation = lifecycle.Situation(state="development", now=NOW,
                                    launch_approval=approval(*terms))
    assert lifecycle.allowed_window(situation)[1] == until
    later = lifecycle.Situation(state="development", now=until, actor_is_ops_lead=True,
                                launch_approval=approval(*terms))
    outcome = lifecycle.check("launch", later)
    assert not outcome.allowed


def test_the_launch_guard_names_the_expired_waiver():
    situation = lifecycle.Situation(state="development", now=NOW, actor_is_ops_lead=True,
                                    launch_approval=approval(GONE))
    outcome = lifecycle.check("launch", situation)
    assert not outcome.allowed
    assert outcome.missing == (f"an approval whose waivers hold (review 1: the waiver of "
                               f"runbooks expired on {GONE.expires_on})",)
