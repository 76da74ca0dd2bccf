"""The moments kept for the worklists answer as the rules they stand for, at every
moment: domain.checklists.failing_from against evaluate_check, and
domain.lifecycle.allowed_window against check."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from readiness.domain import checklists, lifecycle

START = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(-10 * 86_400_000_000, 400 * 86_400_000_000).map(
    lambda us: START + timedelta(microseconds=us))
checks = st.lists(st.fixed_dictionaries({
    "fact": st.sampled_from(("a", "b", "c")), "op": st.sampled_from(checklists.OPERATORS),
    "value": st.sampled_from((0.0, 1.0, 2.0)),
    "max_age_days": st.one_of(st.none(), st.integers(1, 60))}), max_size=4)
readings = st.dictionaries(st.sampled_from(("a", "b", "c")),
                           st.tuples(st.sampled_from((0.0, 1.0, 2.0)), moments))


@given(checks, readings, st.lists(moments, min_size=1, max_size=5))
def test_failing_from_says_when_a_check_fails(every, latest, nows):
    first = checklists.failing_from(every, latest)
    # The exact edge of each age limit, and a microsecond either side of it.
    edges = [at + timedelta(days=c["max_age_days"], microseconds=d)
             for c in every if c["max_age_days"] and c["fact"] in latest
             for at in [latest[c["fact"]][1]] for d in (-1, 0, 1)]
    for now in [*nows, *edges]:
        fails = any(not checklists.evaluate_check(c, *latest.get(c["fact"], (None, None)),
                                                  now).passed for c in every)
        assert fails == (first is not None and first <= now), now


approvals = st.one_of(st.none(), st.builds(
    lifecycle.Approval, st.integers(1, 9), moments, moments,
    st.one_of(st.none(), st.integers(1, 400))))


@given(st.sampled_from(lifecycle.STATES), approvals, approvals,
       st.one_of(st.none(), moments), st.lists(moments, min_size=1, max_size=5))
def test_allowed_window_says_when_a_lead_may_move_it(state, launch, handoff,
                                                     handback_at, nows):
    found = lifecycle.Situation(state=state, now=None, launch_approval=launch,
                                handoff_approval=handoff, last_handback_at=handback_at)
    window = lifecycle.allowed_window(found)
    until = None if window is None else window[1]
    move = lifecycle.NEXT_ON_APPROVAL.get(state)
    approval = {"launch": launch, "handoff": handoff}.get(move)
    edges = [] if approval is None or approval.expires_at() is None else [
        approval.expires_at() + timedelta(microseconds=d) for d in (-1, 0, 1)]
    for now in [*nows, *edges]:
        if approval is not None and now < approval.approved_at:
            continue  # a moment before the approval it is about is never asked
        allowed = move is not None and lifecycle.check(move, lifecycle.Situation(
            state=state, now=now, actor_is_ops_lead=True, launch_approval=launch,
            handoff_approval=handoff, last_handback_at=handback_at)).allowed
        assert allowed == (until is not None and window[0] <= now < until), now
