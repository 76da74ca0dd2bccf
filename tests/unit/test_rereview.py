"""The "needs a re-review" rule (DESIGN.md "Re-reviews"): every trigger, and rows that
do not trigger."""

from datetime import UTC, datetime, timedelta

import pytest

from readiness.domain.lifecycle import rereview_reasons

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
