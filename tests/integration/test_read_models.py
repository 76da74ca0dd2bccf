"""The fast paths the dashboard, the gate and the pages read through give the same answers
as the plain definitions, on random organisations: latest facts, handback candidates,
expiring launch approvals and the deploy gate."""

import operator
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from readiness.commands.facts import record_facts
from readiness.domain import lifecycle
from readiness.domain.facts import FactInput
from readiness.extensions import db
from readiness.models import SERVICE_STATES, Fact, LatestFact, Review, utcnow
from readiness.queries import lifecycle as support
from readiness.queries.dashboard import EXPIRY_WINDOW, expiring_launch_approvals
from readiness.queries.facts import latest_facts

from ..factories import (
    SMALL_CHECKLIST,
    make_checklist_version,
    make_service,
    make_team,
)

SEEDS = range(4)
CHECKS = [  # a bound age, equality, a check that is not required
    ("pages_per_week", "<=", 5, 7, True),
    ("slo_attainment_pct", ">=", 99, None, True),
    ("open_sev1_defects", "==", 0, 2, True),
    ("ops_toil_pct", "<", 10, 1, False),
]
ONE_FACT_TWICE = [*CHECKS, ("pages_per_week", "!=", 3, None, True)]
VALUES = {"pages_per_week": (2, 3, 5, 6), "slo_attainment_pct": (98.9, 99, 99.5),
          "open_sev1_defects": (0, 1), "ops_toil_pct": (5, 50)}
AGES = (0, 0.5, 1, 2, 3, 7, 8)  # days; 2 and 7 are exactly the limits


# Written out here, not taken from the code under test.
OPERATORS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">=": operator.ge,
             ">": operator.gt, "!=": operator.ne}


def expected_failures(checks, newest, now):
    """[(item id, status)] of the required `checks` that the latest readings `newest`
    ({name: (value, observed_at, source)}) do not pass: the plain definition."""
    failing = []
    for n, (fact, op, value, max_age, required) in enumerate(checks):
        if not required:
            continue
        reading = newest.get(fact)
        if reading is None:
            failing.append((f"check-{n}", "missing"))
        elif max_age is not None and (now - reading[1]).total_seconds() > max_age * 86400:
            failing.append((f"check-{n}", "stale"))
        elif not OPERATORS[op](reading[0], value):
            failing.append((f"check-{n}", "fail"))
    return failing


def handback_checklist(checks):
    items = [{"id": f"check-{n}", "title": f"Check {n}", "required": required,
              "evidence": "none", "guidance": "",
              "check": {"fact": fact, "op": op, "value": value, "max_age_days": age}}
             for n, (fact, op, value, age, required) in enumerate(checks)]
    return {"id": "handback-criteria", "title": "Handback criteria", "stage": "handback",
            "version": 1, "sections": [{"id": "s", "title": "S", "description": "",
                                        "items": items}]}


def newest_from_the_fact_table():
    """{service id: {name: (value, observed_at, source)}} by reading every fact."""
    newest = {}
    for fact in db.session.scalars(select(Fact)):
        known = newest.setdefault(fact.service_id, {}).get(fact.name)
        if known is None or fact.observed_at > known[1]:
            newest[fact.service_id][fact.name] = (fact.value, fact.observed_at, fact.source)
    return newest


@pytest.mark.parametrize("checks", [CHECKS, ONE_FACT_TWICE], ids=["distinct", "twice"])
@pytest.mark.parametrize("seed", SEEDS)
def test_latest_facts_and_handback_candidates_match_a_full_evaluation(app, seed, checks):
    rng = random.Random(seed)  # noqa: S311  (test data)
    now = utcnow()
    make_checklist_version("handback-criteria", stage="handback",
                           content=handback_checklist(checks))
    team = make_team()
    services = [make_service(team=team, state=rng.choice(
        ("ops_managed", "ops_managed", "ops_managed", "self_managed")))
        for _ in range(40)]
    db.session.flush()
    for service in services:
        for name, values in VALUES.items():
            if rng.random() < 0.15:
                continue  # no reading at all: missing
            readings = [FactInput(name, float(rng.choice(values)), now - timedelta(days=age),
                                  "s") for age in rng.sample(AGES, rng.randint(1, 3))]
            # Pushed in several calls, newest not always last: an older reading pushed
            # later must not replace the newest.
            for reading in readings:
                record_facts(service, [reading], actor=None)
    db.session.commit()

    newest = newest_from_the_fact_table()
    assert latest_facts([s.id for s in services]) == newest

    # The kept moments answer for every moment, not only the one the facts came in:
    # later days, and both sides of each reading's exact age limit.
    limits = sorted({reading[1] + timedelta(days=age) for facts in newest.values()
                     for name, reading in facts.items() for fact, _, _, age, _ in checks
                     if fact == name and age is not None})
    moments = [now, now + timedelta(days=1), now + timedelta(days=7, hours=1),
               *rng.sample(limits, 3)]
    moments += [moment + timedelta(microseconds=1) for moment in moments[-3:]]
    for moment in moments:
        expected = {}
        for service in services:
            if service.state != "ops_managed":
                continue
            failing = expected_failures(checks, newest.get(service.id, {}), moment)
            if failing:
                expected[service.slug] = failing
        every = support.handback_candidates(moment)
        found = {c.service.slug: [(item["id"], result.status) for item, result in c.failing]
                 for c in every.items}
        assert found == expected, moment
        first = support.handback_candidates(moment, limit=3)  # what the dashboard shows
        assert first.items == every.items[:3]
        assert (first.total, first.capped) == (len(expected), False)
        if moment == now:
            assert 0 < len(found) < sum(s.state == "ops_managed" for s in services)


@pytest.mark.parametrize("seed", SEEDS)
def test_expiring_approvals_and_the_gate_match_the_latest_approval_of_each_service(
        app, seed):
    rng = random.Random(seed)  # noqa: S311  (test data)
    now = utcnow()
    launch = [make_checklist_version(version=n, content=dict(SMALL_CHECKLIST,
                                                             valid_for_days=days))
              for n, days in ((1, 365), (2, 180), (3, None))]
    handoff = make_checklist_version("handoff-readiness", stage="handoff")
    team = make_team()
    services = [make_service(team=team, state=rng.choice(SERVICE_STATES))
                for _ in range(40)]
    db.session.flush()
    for service in services:
        for _ in range(rng.randint(0, 3)):
            state = rng.choice(("approved", "approved", "withdrawn", "draft"))
            approved_at = now - timedelta(days=rng.randint(0, 400)) if state == "approved" \
                else None
            db.session.add(Review(service_id=service.id, state=state, approved_at=approved_at,
                                  checklist_version=rng.choice([*launch, handoff]),
                                  created_at=now - timedelta(days=401)))
    db.session.commit()

    expected = []
    for service in services:
        approvals = sorted((r for r in db.session.scalars(
            select(Review).where(Review.service_id == service.id, Review.state == "approved"))
            if r.checklist_version.stage == "launch"),
            key=lambda r: (r.approved_at, r.id))
        latest = lifecycle.Approval(approvals[-1].id, approvals[-1].created_at,
                                    approvals[-1].approved_at,
                                    approvals[-1].checklist_version.valid_for_days) \
            if approvals else None
        found = support.gate(service.slug, now)
        assert (found.slug, found.state, found.decision) == (
            service.slug, service.state, lifecycle.gate(service.state, latest, now))
        if service.state in ("self_managed", "ops_managed") and latest is not None \
                and latest.expires_at() is not None \
                and latest.expires_at() <= now + EXPIRY_WINDOW:
            expected.append((service.slug, latest.review_id, latest.expires_at(),
                             latest.expires_at() <= now))
    every = expiring_launch_approvals(now)
    found = [(e.slug, e.review_id, e.expires_at, e.has_expired) for e in every.items]
    assert sorted(found) == sorted(expected) and every.total == len(expected)
    assert [e[2] for e in found] == sorted(e[2] for e in found)
    first = expiring_launch_approvals(now, limit=3)  # what the dashboard shows
    assert first.items == every.items[:3] and first.total == len(expected)
    assert support.gate("no-such-service") is None


def test_latest_fact_is_not_replaced_by_an_older_reading(app):
    service = make_service()
    db.session.flush()
    now = utcnow()
    record_facts(service, [FactInput("pages_per_week", 2.0, now, "new")], actor=None)
    record_facts(service, [FactInput("pages_per_week", 9.0, now - timedelta(hours=1), "old")],
                 actor=None)
    db.session.commit()
    row = db.session.get(LatestFact, (service.id, "pages_per_week"))
    assert (row.value, row.observed_at, row.source) == (2.0, now, "new")


def test_a_prepared_insert_flushes_first_and_raises_sqlalchemys_errors(app):
    """A statement run straight on the driver still sees the session's pending objects
    and fails as any other would (handlers catch SQLAlchemy's IntegrityError)."""
    from sqlalchemy.exc import IntegrityError

    from readiness.database import PreparedInsert

    service = make_service(slug="checkout")
    db.session.flush()
    at = utcnow()
    db.session.add(Fact(service_id=service.id, name="pages_per_week", value=1,
                        observed_at=at, source="", recorded_at=at))  # pending, not flushed
    insert = PreparedInsert(Fact.__table__, ("service_id", "name", "value", "observed_at",
                                             "source", "recorded_at"))
    with pytest.raises(IntegrityError):
        insert.execute(db.session, 1, service_id=service.id, name=["pages_per_week"],
                       value=[2], observed_at=[at], source="", recorded_at=at)
    db.session.rollback()
