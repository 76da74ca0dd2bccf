"""The management state machine, its guards and the deploy gate, as whole tables."""

from datetime import UTC, datetime, timedelta

import pytest

from readiness.domain import lifecycle
from readiness.domain.lifecycle import Approval, Situation, check, gate
from readiness.domain.pager import Trial

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def approval(days_ago=10, valid_for=365, created_days_ago=None, review_id=7):
    created = NOW - (created_days_ago if created_days_ago is not None else days_ago + 1) * DAY
    return Approval(review_id, created, NOW - days_ago * DAY, valid_for)


def trial(ended_days_ago=10, outcome="passed", days=7):
    ended = (NOW - ended_days_ago * DAY).date()
    return Trial(ended - days * DAY, ended, outcome)


def ready(state, **overrides):
    """A situation in which every guard of every transition is met."""
    values = {"state": state, "now": NOW, "actor_is_ops_lead": True,
              "launch_approval": approval(), "handoff_approval": approval(),
              "last_handback_at": None, "reason": "because",
              "launched_at": NOW - 200 * DAY, "min_self_managed_days": 180,
              "trials": (trial(),)}
    values.update(overrides)
    return Situation(**values)


TRANSITIONS = ("launch", "handoff", "handback", "retire")
# Every (state, transition) pair: the state it leads to, or None when illegal.
TABLE = {
    ("development", "launch"): "self_managed",
    ("development", "handoff"): None,
    ("development", "handback"): None,
    ("development", "retire"): "retired",
    ("self_managed", "launch"): None,
    ("self_managed", "handoff"): "ops_managed",
    ("self_managed", "handback"): None,
    ("self_managed", "retire"): "retired",
    ("ops_managed", "launch"): None,
    ("ops_managed", "handoff"): None,
    ("ops_managed", "handback"): "self_managed",
    ("ops_managed", "retire"): "retired",
    ("retired", "launch"): None,
    ("retired", "handoff"): None,
    ("retired", "handback"): None,
    ("retired", "retire"): None,
}


def test_the_table_covers_every_pair():
    assert set(TABLE) == {(s, t) for s in lifecycle.STATES for t in TRANSITIONS}


@pytest.mark.parametrize(("state", "transition"), sorted(TABLE))
def test_every_state_and_transition(state, transition):
    outcome = check(transition, ready(state))
    expected = TABLE[(state, transition)]
    assert outcome.allowed is (expected is not None)
    assert outcome.to_state == expected
    if expected is None:
        assert len(outcome.missing) == 1
        assert "retired" in outcome.missing[0] or "must be" in outcome.missing[0]


GUARDS = [
    # (transition, state, situation overrides, what the refusal must name)
    ("launch", "development", {"launch_approval": None}, "an approved launch review"),
    ("launch", "development", {"launch_approval": approval(days_ago=400)},
     "a launch approval that has not expired"),
    ("launch", "development", {"actor_is_ops_lead": False}, "an ops lead or admin"),
    ("handoff", "self_managed", {"handoff_approval": None}, "an approved handoff review"),
    ("handoff", "self_managed", {"handoff_approval": approval(days_ago=200, valid_for=180)},
     "a handoff approval that has not expired"),
    ("handoff", "self_managed", {"last_handback_at": NOW - 5 * DAY},
     "an approved handoff review made after the handback"),
    ("handoff", "self_managed", {"actor_is_ops_lead": False, "actor_is_admin": True},
     "an ops lead to accept the handoff"),
    # Who carries the pager, measured.
    ("handoff", "self_managed", {"launched_at": NOW - 100 * DAY},
     "at least 180 days self-managed since its launch on 2026-02-21 (eligible from "
     "2026-08-20)"),
    ("handoff", "self_managed", {"last_handback_at": NOW - 30 * DAY,
                                 "handoff_approval": approval(days_ago=2, created_days_ago=5),
                                 "trials": (trial(ended_days_ago=3),)},
     "at least 180 days self-managed since its handback on 2026-05-02 (eligible from "
     "2026-10-29)"),
    ("handoff", "self_managed", {"trials": ()},
     "a passed pager trial ended after its launch on 2025-11-13 and at most 90 days ago "
     "(none yet: a trial started now could end on 2026-06-08 at the earliest)"),
    ("handoff", "self_managed", {"trials": (trial(outcome="failed"),)},
     "a passed pager trial ended after"),
    ("handoff", "self_managed", {"trials": (trial(ended_days_ago=92),)},
     "(the last one ended on 2026-03-01, more than 90 days ago)"),
    ("handoff", "self_managed", {"trials": (trial(ended_days_ago=210),)},
     "none yet"),  # before the launch: it does not count
    ("handoff", "self_managed", {"last_handback_at": NOW - 190 * DAY,
                                 "handoff_approval": approval(days_ago=2, created_days_ago=5),
                                 "trials": (trial(ended_days_ago=195),)},
     "ended after its handback on 2025-11-23"),
    ("handoff", "self_managed", {"over_cap": "after taking X: 44 h of 80 h (55 %)"},
     "a reason to go over the Ops cap of 50 % (after taking X: 44 h of 80 h (55 %))"),
    ("handback", "ops_managed", {"reason": "  "}, "a reason for the handback"),
    ("handback", "ops_managed", {"actor_is_ops_lead": False}, "an ops lead or admin"),
    ("retire", "self_managed", {"reason": ""}, "a reason for the retire"),
    ("retire", "development", {"actor_is_ops_lead": False}, "an ops lead or admin"),
]


@pytest.mark.parametrize(("transition", "state", "overrides", "named"), GUARDS)
def test_each_guard_refuses_and_names_what_is_missing(transition, state, overrides, named):
    outcome = check(transition, ready(state, **overrides))
    assert not outcome.allowed and outcome.to_state is None
    assert any(named in missing for missing in outcome.missing), outcome.missing


ALLOWED_HANDOFFS = [
    # Each new guard, met at its edge.
    {"launched_at": NOW - 180 * DAY},
    {"min_self_managed_days": 0, "launched_at": NOW - DAY, "trials": (trial(0),)},
    {"trials": (trial(ended_days_ago=89),)},
    {"trials": (trial(outcome="failed", ended_days_ago=3), trial(ended_days_ago=40))},
    {"over_cap": "after taking X: 44 h of 80 h (55 %)", "over_cap_reason": "Winter peak."},
    {"over_cap": None, "over_cap_reason": ""},
    {"launched_at": None},  # launched before launches were recorded: no minimum to wait
]


@pytest.mark.parametrize("overrides", ALLOWED_HANDOFFS)
def test_the_pager_guards_allow_a_handoff_that_meets_them(overrides):
    assert check("handoff", ready("self_managed", **overrides)).allowed


def test_every_missing_pager_guard_is_named_together():
    outcome = check("handoff", ready("self_managed", launched_at=NOW - DAY, trials=(),
                                     over_cap="after taking X: 50 h of 80 h (62 %)"))
    assert [m.split(" ")[0:3] for m in outcome.missing] == [
        ["at", "least", "180"], ["a", "passed", "pager"], ["a", "reason", "to"]]


def test_the_handoff_window_is_when_the_guards_hold():
    approved = approval(days_ago=5)
    late = ready("self_managed", handoff_approval=approved, launched_at=NOW - 170 * DAY,
                 trials=(trial(ended_days_ago=20),))
    start, end = lifecycle.allowed_window(late)
    assert start == NOW + 10 * DAY  # 180 days after the launch
    ended_at = datetime.combine((NOW - 20 * DAY).date(), datetime.min.time(), UTC)
    assert end == ended_at + 91 * DAY  # it counts through its 90th day
    for moment, allowed in [(start - DAY / 24, False), (start, True), (end - DAY / 24, True),
                            (end, False)]:
        assert check("handoff", ready("self_managed", handoff_approval=approved,
                                      launched_at=NOW - 170 * DAY,
                                      trials=(trial(ended_days_ago=20),),
                                      now=moment)).allowed is allowed, moment
    assert lifecycle.allowed_window(ready("self_managed", trials=())) is None


def test_a_handoff_review_made_after_the_handback_counts():
    handed_back = NOW - 20 * DAY
    fresh = approval(days_ago=2, created_days_ago=10)
    quick = {"min_self_managed_days": 0, "trials": (trial(ended_days_ago=3),)}
    assert check("handoff", ready("self_managed", last_handback_at=handed_back,
                                  handoff_approval=fresh, **quick)).allowed
    started_before = approval(days_ago=2, created_days_ago=30)
    assert not check("handoff", ready("self_managed", last_handback_at=handed_back,
                                      handoff_approval=started_before, **quick)).allowed


def test_admins_may_retire_and_hand_back_but_only_ops_leads_accept_handoffs():
    admin = {"actor_is_ops_lead": False, "actor_is_admin": True}
    assert check("retire", ready("ops_managed", **admin)).allowed
    assert check("handback", ready("ops_managed", **admin)).allowed
    assert check("launch", ready("development", **admin)).allowed
    assert not check("handoff", ready("self_managed", **admin)).allowed


def test_all_missing_things_are_named_together():
    outcome = check("handback", ready("ops_managed", actor_is_ops_lead=False, reason=""))
    assert len(outcome.missing) == 2


def test_approvals_without_valid_for_days_never_expire():
    assert approval(days_ago=5000, valid_for=None).is_valid(NOW)


GATE = [
    ("development", approval(), False, ["still in development"]),
    ("self_managed", approval(), True, []),
    ("ops_managed", approval(), True, []),
    ("self_managed", None, False, ["no approved launch review"]),
    ("ops_managed", approval(days_ago=400), False, ["the launch approval expired on"]),
    ("retired", approval(), False, ["retired"]),
    ("development", None, False, ["still in development", "no approved launch review"]),
]


@pytest.mark.parametrize(("state", "launch", "allowed", "reasons"), GATE)
def test_the_deploy_gate(state, launch, allowed, reasons):
    decision = gate(state, launch, NOW)
    assert decision.allowed is allowed
    assert len(decision.reasons) == len(reasons)
    for reason, fragment in zip(decision.reasons, reasons, strict=True):
        assert fragment in reason
