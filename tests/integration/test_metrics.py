"""GET /metrics: who may read it, and figures equal to their plain definitions."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from readiness.cli.demo import load_demo
from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.models import ChecklistVersion, Review, Service, utcnow
from readiness.queries.dashboard import expiring_launch_approvals
from readiness.queries.lifecycle import handback_candidates

from ..factories import make_user


def token_of(**roles):
    user = make_user(roles=tuple(r for r, on in roles.items() if on))
    _, token = create_token(user, name="metrics", actor=user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def values(text):
    """{'name{labels}': value} of an exposition."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(readiness_\w+(?:\{[^}]*\})?) (\S+)$", text, re.MULTILINE)}


def test_only_ops_leads_admins_and_the_metrics_token_may_read(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers=token_of()).status_code == 403
    assert client.get("/metrics", headers=token_of(consultant=True)).status_code == 403
    assert client.get("/metrics", headers=token_of(ops_lead=True)).status_code == 200
    response = client.get("/metrics", headers=token_of(admin=True))
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")


@pytest.mark.config(METRICS_TOKEN="m3trics-for-prometheus")
def test_the_configured_metrics_token_reads_them(client):
    ok = client.get("/metrics", headers={"Authorization": "Bearer m3trics-for-prometheus"})
    assert ok.status_code == 200
    wrong = client.get("/metrics", headers={"Authorization": "Bearer m3trics-for-prometheuS"})
    assert wrong.status_code == 401


def test_the_figures_equal_their_plain_definitions(app, client):
    load_demo()
    headers = token_of(ops_lead=True)
    found = values(client.get("/metrics", headers=headers).text)
    for state in ("development", "self_managed", "ops_managed", "retired"):
        plain = db.session.scalar(select(func.count()).where(Service.state == state))
        assert found[f'readiness_services{{state="{state}"}}'] == plain, state
    reviews = db.session.execute(
        select(ChecklistVersion.stage, Review.state, func.count()).join(Review.checklist_version)
        .group_by(ChecklistVersion.stage, Review.state)).all()
    assert reviews
    for stage, state, plain in reviews:
        assert found[f'readiness_reviews{{stage="{stage}",state="{state}"}}'] == plain
    now = utcnow()
    candidates = handback_candidates(now)
    assert candidates.total > 0
    assert found["readiness_handback_candidates"] == candidates.total
    listed = expiring_launch_approvals(now).items
    assert found['readiness_approvals_expiring{expired="true"}'] == sum(
        e.has_expired for e in listed)
    assert found['readiness_approvals_expiring{expired="false"}'] == sum(
        not e.has_expired and e.expires_at <= now + timedelta(days=30) for e in listed)


def test_gate_answers_and_facts_stored_are_counted(app, client):
    load_demo()
    headers = token_of(admin=True)
    before = values(client.get("/metrics", headers=headers).text)
    slug = db.session.scalar(select(Service.slug).where(Service.state == "ops_managed"))
    answers = [client.get(f"/api/v1/services/{slug}/gate", headers=headers).status_code
               for _ in range(3)]
    stored = client.post(f"/api/v1/services/{slug}/facts", headers=headers, json=[
        {"name": "pages_per_week", "value": 1, "observed_at": "2026-01-01T00:00:00Z"},
        {"name": "pages_per_week", "value": 2, "observed_at": "2026-01-02T00:00:00Z"}])
    assert stored.status_code == 200
    after = values(client.get("/metrics", headers=headers).text)
    result = "allowed" if answers[0] == 200 else "refused"
    key = f'readiness_gate_answers_total{{result="{result}"}}'
    assert after[key] - before[key] == 3
    assert (after["readiness_facts_stored_total"]
            - before["readiness_facts_stored_total"]) == 2
