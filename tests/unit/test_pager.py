"""Pager trials and the Ops capacity ledger as tables (DESIGN.md "Who carries the pager,
measured")."""

from datetime import UTC, date, datetime

import pytest

from readiness.domain.inputs import InvalidInput
from readiness.domain.pager import Ledger, Trial, counting_trial, load_of, parse_trial

TODAY = date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def parse(**fields):
    values = {"started_on": "2026-11-01", "ended_on": "2026-11-08", "shadow": "Lee Navarro",
              "pages_total": "9", "pages_actionable": "7", "outcome": "passed", "notes": "",
              **fields}
    return parse_trial(**values, today=TODAY)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"ended_on": "2026-11-07"}, "ended_on", "at least 7 days: end it on 2026-11-08 or later"),
    ({"ended_on": "2026-12-06"}, "ended_on", "once it has ended"),
    ({"started_on": "1 Nov"}, "started_on", "YYYY-MM-DD"),
    ({"shadow": " "}, "shadow", "Name who from Ops shadowed"),
    ({"pages_total": "-1"}, "pages_total", "A whole number"),
    ({"pages_actionable": "10"}, "pages_actionable", "More actionable pages"),
    ({"outcome": "maybe"}, "outcome", "passed or failed"),
    ({"started_on": "9999-12-31"}, "ended_on", "The end comes before the start."),
])
def test_bad_trials_name_the_field(fields, field, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        parse(**fields)
    assert caught.value.field == field


def test_a_week_long_trial_ending_today_is_good():
    trial = parse(started_on="2026-11-28", ended_on="2026-12-05", notes="  Quiet.  ")
    assert (trial.pages_total, trial.pages_actionable, trial.notes) == (9, 7, "Quiet.")


LAUNCH = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("trials", "expected"), [
    ((), None),
    ((Trial(date(2026, 11, 1), date(2026, 11, 8), "failed"),), None),
    ((Trial(date(2026, 11, 1), date(2026, 11, 8), "passed"),), date(2026, 11, 8)),
    # Ended 90 days ago to the day: still counts; a day more: no longer.
    ((Trial(date(2026, 8, 30), date(2026, 9, 5), "passed"),), date(2026, 9, 5)),
    ((Trial(date(2026, 8, 29), date(2026, 9, 4), "passed"),), None),
    # Before the latest launch or handback: it does not count.
    ((Trial(date(2026, 5, 1), date(2026, 5, 20), "passed"),), None),
    ((Trial(date(2026, 9, 1), date(2026, 9, 10), "passed"),
      Trial(date(2026, 11, 1), date(2026, 11, 8), "passed")), date(2026, 11, 8)),
])
def test_which_trial_counts(trials, expected):
    for hour in (0, 12, 23):  # all through the day
        found = counting_trial(trials, LAUNCH, datetime(2026, 12, 4, hour, tzinfo=UTC))
        assert (found.ended_on if found else None) == expected


@pytest.mark.parametrize(("fact", "estimate", "load"), [
    (None, None, 0.0), (None, 6.0, 6.0), (3.5, 6.0, 3.5), (0.0, 6.0, 0.0)])
def test_a_services_load_is_its_latest_fact_else_its_estimate(fact, estimate, load):
    assert load_of(fact, estimate) == load


def test_the_ledger_sums_the_loads_against_half_the_capacity():
    ledger = Ledger(80.0, {"ledger": 12.0, "search-api": 20.0})
    assert (ledger.total, ledger.cap) == (32.0, 40.0)
    assert not ledger.is_over(8.0) and ledger.is_over(8.5)
    assert ledger.after_taking("Checkout", 10) == "after taking Checkout: 42 h of 80 h (52 %)"
    assert Ledger(None, {"x": 1.0}).after_taking("Checkout", 2) == (
        "after taking Checkout: 3 h a week of Ops work (no Ops capacity set)")
    assert not Ledger(None, {"x": 1e6}).is_over(1e6)
