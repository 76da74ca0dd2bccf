"""The fast paths the dashboard, the gate and the pages read through give the same answers
as the plain definitions, on random organisations: latest facts, handback candidates,
expiring launch approvals and the deploy gate."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, func, select, text

from readiness import lifecycle
from readiness.dashboard import EXPIRY_WINDOW, expiring_launch_approvals
from readiness.database import PreparedRead
from readiness.extensions import db
from readiness.models import SERVICE_STATES, Fact, LatestFact, Review, utcnow
from readiness.operations import lifecycle as support
from readiness.operations import tokens
from readiness.operations.facts import FactInput, latest_facts, record_facts
from readiness.operations.tokens import create_token

from ..factories import (
    SMALL_CHECKLIST,
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_user,
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
    version = make_checklist_version("handback-criteria", stage="handback",
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

    expected = {}
    for service in services:
        if service.state != "ops_managed":
            continue
        failing = support.failing_handback_items(service.id, newest.get(service.id, {}), now,
                                                 version)
        if failing:
            expected[service.slug] = [(item["id"], result.status) for item, result in failing]
    found = {c.service.slug: [(item["id"], result.status) for item, result in c.failing]
             for c in support.handback_candidates(now)}
    assert found == expected
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
        assert support.gate_by_slug(service.slug, now) == (
            service.slug, service.state, lifecycle.gate(service.state, latest, now))
        if service.state in ("self_managed", "ops_managed") and latest is not None \
                and latest.expires_at() is not None \
                and latest.expires_at() <= now + EXPIRY_WINDOW:
            expected.append((service.slug, latest.review_id, latest.expires_at(),
                             latest.expires_at() <= now))
    found = [(e.slug, e.review_id, e.expires_at, e.has_expired)
             for e in expiring_launch_approvals(now)]
    assert sorted(found) == sorted(expected)
    assert [e[2] for e in found] == sorted(e[2] for e in found)
    assert support.gate_by_slug("no-such-service") is None


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


def test_a_prepared_read_gives_the_rows_and_types_of_a_normal_execution(app):
    from readiness.api.views import _GATE_CALL

    launch = make_checklist_version()
    member = make_user()
    service = make_service(state="ops_managed")
    make_review(service=service, checklist_version=launch, state="approved")
    _row, token = create_token(member, name="ci", actor=member)
    db.session.commit()
    for digest in (tokens.digest(token), tokens.digest("rdy_unknown")):
        for slug in (service.slug, "no-such-service"):
            params = {"digest": digest, "slug": slug}
            expected = db.session.execute(_GATE_CALL.statement, params).first()
            found = _GATE_CALL.first(db.engine, **params)
            assert (None if expected is None else tuple(expected)) == (
                None if found is None else tuple(found))
            if found is not None:
                assert found._fields == tuple(expected._fields)
    found = _GATE_CALL.first(db.engine, digest=tokens.digest(token), slug=service.slug)
    assert found.approved_at.tzinfo is not None and found.is_disabled is False
    assert found.valid_for_days == 365


def test_a_prepared_read_refuses_parameters_that_need_converting(app):
    statement = select(Fact.id).where(Fact.observed_at > bindparam("since"))
    with pytest.raises(TypeError, match="since"):
        PreparedRead(statement).first(db.engine, since=utcnow())


def test_a_prepared_read_hands_its_connection_back_as_it_found_it(app):
    from readiness.api.views import _GATE_CALL

    _GATE_CALL.first(db.engine, digest=tokens.digest("rdy_x"), slug="x")
    connection = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "postgresql":
            assert connection.driver_connection.autocommit is False
        else:
            assert connection.driver_connection.in_transaction is False
    finally:
        connection.close()


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


@pytest.mark.postgres_only
def test_a_prepared_read_on_a_dropped_connection_fails_once_and_drops_it(app):
    """When the database ended the pooled connection, the read raises SQLAlchemy's
    OperationalError marked as a disconnect, and the pool does not hand that connection
    out again: the next read works. (An engine without pre-ping, which would otherwise
    replace the dead connection before the read sees it.)"""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    try:
        read = PreparedRead(select(func.count()).select_from(Fact.__table__))
        assert read.first(engine) == (0,)
        connection = engine.raw_connection()
        pid = connection.driver_connection.info.backend_pid
        connection.close()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as dropped:
            read.first(engine)
        assert dropped.value.connection_invalidated
        assert read.first(engine) == (0,)
    finally:
        engine.dispose()
