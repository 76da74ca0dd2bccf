"""The campaign rules as tables: the filter, the done rule, the burn-up and the
deadline reminders."""

from datetime import UTC, date, datetime, timedelta

import pytest

from readiness.domain.campaigns import (
    Approval,
    CampaignFilter,
    burn_up,
    deadline_reminder,
    is_done,
)

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.mark.parametrize(("found", "service", "matches"), [
    (CampaignFilter(), {"tier": 3, "team": "x", "state": "retired"}, True),
    (CampaignFilter(tiers=(1,)), {"tier": 1, "team": "x", "state": "development"}, True),
    (CampaignFilter(tiers=(1,)), {"tier": 2, "team": "x", "state": "development"}, False),
    (CampaignFilter(tiers=(1, 2), teams=("x",)), {"tier": 2, "team": "x",
                                                   "state": "ops_managed"}, True),
    (CampaignFilter(tiers=(1, 2), teams=("y",)), {"tier": 2, "team": "x",
                                                   "state": "ops_managed"}, False),
    (CampaignFilter(states=("self_managed",)), {"tier": 2, "team": "x",
                                                 "state": "ops_managed"}, False),
])
def test_every_key_given_must_match(found, service, matches):
    assert found.matches(**service) is matches


@pytest.mark.parametrize(("approvals", "done"), [
    ((), False),
    ((Approval(2, NOW - timedelta(days=1), None),), True),
    ((Approval(3, NOW - timedelta(days=1), NOW + timedelta(days=1)),), True),
    ((Approval(1, NOW - timedelta(days=1), None),), False),  # older version
    ((Approval(2, NOW - timedelta(days=40), NOW - timedelta(days=1)),), False),  # expired
    ((Approval(2, NOW - timedelta(days=40), NOW),), False),  # expires now
    ((Approval(2, NOW + timedelta(days=1), None),), False),  # not yet
    ((Approval(1, NOW, None), Approval(2, NOW - timedelta(days=9), None)), True),
])
def test_done_is_an_approved_unexpired_review_at_the_version_or_later(approvals, done):
    assert is_done(approvals, 2, NOW) is done


def test_the_burn_up_counts_each_day_at_its_end_and_drops_expired_approvals():
    day = date(2026, 12, 1)
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    scope = [(1, "a"), (2, "a"), (3, "b")]
    approvals = {1: [Approval(1, at, at + timedelta(days=2))],
                 2: [Approval(1, at + timedelta(days=1), None)]}
    assert burn_up(scope, approvals, 1, day, day + timedelta(days=5)) == [
        (date(2026, 12, 1), 0), (date(2026, 12, 2), 1), (date(2026, 12, 3), 2),
        (date(2026, 12, 4), 1), (date(2026, 12, 5), 1), (date(2026, 12, 6), 1)]


def test_the_burn_up_shows_the_latest_120_days_at_most():
    days = burn_up([], {}, 1, date(2026, 1, 1), date(2026, 12, 31))
    assert len(days) == 120 and days[-1][0] == date(2026, 12, 31)


@pytest.mark.parametrize(("left", "due"), [
    (30, None), (15, None), (14, 14), (8, 14), (7, 7), (2, 7), (1, 1), (0, 1), (-1, 0),
    (-30, 0)])
def test_deadline_reminders(left, due):
    today = date(2026, 12, 5)
    assert deadline_reminder(today, today + timedelta(days=left)) == due
