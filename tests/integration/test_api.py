"""The HTTP API: tokens and their rights, facts, the gate, and problem documents."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from readiness.cli.demo import load_demo
from readiness.commands.tokens import create_token, digest, revoke_token
from readiness.extensions import db
from readiness.models import ApiToken, AuditEntry, Fact, Service, User, utcnow

from ..factories import make_service, make_team, make_user


@pytest.fixture
def org(app):
    team = make_team(slug="payments")
    member = make_user(email="member@example.com", teams=[team])
    outsider = make_user(email="outsider@example.com", teams=[make_team(slug="search")])
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    make_service(slug="checkout", team=team)
    tokens = {name: create_token(user, name=name, actor=user)[1]
              for name, user in (("member", member), ("outsider", outsider), ("lead", lead))}
    db.session.commit()
    return {"tokens": tokens, "member": member}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def now_iso(days=0):
    return (utcnow() - timedelta(days=days)).isoformat()


def fact(name="pages_per_week", value=3, days=1, **extra):
    return {"name": name, "value": value, "observed_at": now_iso(days), "source": "pd",
            **extra}


def facts_stored():
    return db.session.scalar(select(func.count()).select_from(Fact))


def assert_problem(response, status, detail_part=""):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and detail_part in body["detail"]
    return body


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"},
                                     {"Authorization": "Bearer rdy_not-a-real-token"}])
def test_missing_or_wrong_tokens_get_401(client, org, headers):
    """The fact push and the gate check tokens in their own statement: the same answers,
    and 401 before anything about the service (whether it exists) is told."""
    for method, path in (("GET", "/api/v1/services"),
                         ("POST", "/api/v1/services/checkout/facts"),
                         ("POST", "/api/v1/services/no-such-service/facts"),
                         ("GET", "/api/v1/services/no-such-service/gate")):
        response = client.open(path, method=method, headers=headers, json=fact())
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert facts_stored() == 0


def test_a_revoked_token_or_a_disabled_user_gets_401(client, org):
    token = org["tokens"]["member"]
    assert client.get("/api/v1/services", headers=auth(token)).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.digest == digest(token)))
    revoke_token(row, actor=None)
    db.session.commit()
    assert_problem(client.get("/api/v1/services", headers=auth(token)), 401, "revoked")
    assert_problem(client.post("/api/v1/services/checkout/facts", json=fact(),
                               headers=auth(token)), 401, "revoked")
    lead_token = org["tokens"]["lead"]
    db.session.scalar(select(User).where(User.email == "lead@example.com")).is_disabled = True
    db.session.commit()
    assert_problem(client.get("/api/v1/services", headers=auth(lead_token)), 401, "disabled")
    assert_problem(client.post("/api/v1/services/checkout/facts", json=fact(),
                               headers=auth(lead_token)), 401, "disabled")
    assert facts_stored() == 0


def test_a_fact_push_is_recorded_under_the_tokens_user_and_the_service(client, org):
    assert_problem(client.post("/api/v1/services/nowhere/facts", json=fact(),
                               headers=auth(org["tokens"]["member"])), 404, "'nowhere'")
    client.post("/api/v1/services/checkout/facts", json=fact(),
                headers=auth(org["tokens"]["member"]))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "fact:record"))
    service = db.session.scalar(select(Service).where(Service.slug == "checkout"))
    assert (entry.actor_id, entry.actor_email, entry.actor_name) == (
        org["member"].id, "member@example.com", org["member"].name)
    assert (entry.subject_type, entry.subject_id) == ("service", str(service.id))


def test_a_token_used_outside_its_rights_gets_403_and_stores_nothing(client, org):
    response = client.post("/api/v1/services/checkout/facts", json=fact(),
                           headers=auth(org["tokens"]["outsider"]))
    assert_problem(response, 403, "only its team, ops leads and admins")
    assert facts_stored() == 0
    # The owning team and an ops lead may; anyone with a token may read.
    for who in ("member", "lead"):
        assert client.post("/api/v1/services/checkout/facts", json=fact(days=2 if who == "lead"
                                                                         else 1),
                           headers=auth(org["tokens"][who])).status_code == 200
    assert client.get("/api/v1/services/checkout",
                      headers=auth(org["tokens"]["outsider"])).status_code == 200


def test_the_only_api_post_route_is_facts(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if "POST" in rule.methods and rule.rule.startswith("/api/")}
    assert routes == {"api.record_facts"}  # its rights are tested above


def test_the_same_batch_posted_twice_stores_each_fact_once(client, org):
    batch = [fact(days=d, value=d) for d in (1, 2, 3)] + [fact("slo_attainment_pct", 99.9)]
    first = client.post("/api/v1/services/checkout/facts", json=batch,
                        headers=auth(org["tokens"]["member"]))
    assert first.get_json() == {"service": "checkout", "received": 4, "stored": 4,
                                "already_stored": 0}
    again = client.post("/api/v1/services/checkout/facts", json=batch,
                        headers=auth(org["tokens"]["member"]))
    assert again.get_json()["stored"] == 0 and again.get_json()["already_stored"] == 4
    assert facts_stored() == 4
    entries = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "fact:record")).all()
    assert entries == ["fact:record"]  # only the write that stored something


def test_a_batch_with_one_bad_entry_stores_nothing_and_names_it(client, org):
    batch = [fact(days=1), fact(days=2, value="7"), fact(days=3),
             fact(days=4, colour="red"), {"name": "x"}]
    response = client.post("/api/v1/services/checkout/facts", json=batch,
                           headers=auth(org["tokens"]["member"]))
    body = assert_problem(response, 422, "nothing was stored")
    named = {(e["index"], e["field"]) for e in body["errors"]}
    assert named == {(1, "value"), (3, "colour"), (4, "value"), (4, "observed_at")}
    assert facts_stored() == 0


@pytest.mark.parametrize(("entry", "field"), [
    (fact(value=True), "value"), (fact(value=None), "value"), (fact(value=1e300), "value"),
    (fact(name="PagesPerWeek"), "name"), (fact(name="a" * 65), "name"),
    ({**fact(), "observed_at": "2026-11-26T10:00:00"}, "observed_at"),
    ({**fact(), "observed_at": "2026-11-26"}, "observed_at"),
    ({**fact(), "observed_at": "yesterday"}, "observed_at"),
    ({**fact(), "observed_at": (utcnow() + timedelta(days=2)).isoformat()}, "observed_at"),
    (fact(source="line\nbreak"), "source"), (fact(source=7), "source"),
])
def test_each_kind_of_bad_fact_is_named(client, org, entry, field):
    response = client.post("/api/v1/services/checkout/facts", json=entry,
                           headers=auth(org["tokens"]["member"]))
    body = assert_problem(response, 422)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(0, field)]


def test_nan_and_infinity_are_refused(client, org):
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = f'{{"name": "pages_per_week", "value": {literal}, "observed_at": "{now_iso(1)}"}}'
        response = client.post("/api/v1/services/checkout/facts", data=raw,
                               content_type="application/json",
                               headers=auth(org["tokens"]["member"]))
        assert_problem(response, 422)
    assert facts_stored() == 0


def test_malformed_bodies_get_problem_documents(client, org):
    headers = auth(org["tokens"]["member"])
    url = "/api/v1/services/checkout/facts"
    assert_problem(client.post(url, data="{not json", content_type="application/json",
                               headers=headers), 400, "not valid JSON")
    assert_problem(client.post(url, data="name=x", headers=headers), 415)
    assert_problem(client.post(url, json=[], headers=headers), 422, "")
    assert_problem(client.post(url, json=[fact(days=1)] * 1001, headers=headers), 422)
    assert_problem(client.post(url, json="a string", headers=headers), 422)
    assert_problem(client.post(url, data="null", content_type="application/json",
                               headers=headers), 422)  # JSON, but not a fact
    assert_problem(client.post(url, data=b"\xff\xfe[", content_type="application/json",
                               headers=headers), 400, "not valid JSON")
    huge = json.dumps([fact(source="x" * 100)] * 20_000)
    assert_problem(client.post(url, data=huge, content_type="application/json",
                               headers=headers), 413)
    assert_problem(client.post("/api/v1/services/nope/facts", json=fact(), headers=headers),
                   404)
    assert facts_stored() == 0


def test_a_fact_recorded_with_another_value_is_a_conflict(client, org):
    headers = auth(org["tokens"]["member"])
    first = fact(days=1, value=3)
    client.post("/api/v1/services/checkout/facts", json=first, headers=headers)
    changed = {**first, "value": 9}
    response = client.post("/api/v1/services/checkout/facts", json=[fact(days=5), changed],
                           headers=headers)
    body = assert_problem(response, 409)
    assert body["errors"][0]["index"] == 1
    assert facts_stored() == 1


def test_unknown_routes_and_methods_are_problems(client, org):
    headers = auth(org["tokens"]["member"])
    assert_problem(client.get("/api/v1/nope", headers=headers), 404)
    response = client.delete("/api/v1/services/checkout/gate", headers=headers)
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_problem(client.get("/api/v1/services?per_page=1000", headers=headers), 400)
    assert_problem(client.get("/api/v1/services?colour=red", headers=headers), 400)
    assert_problem(client.get("/api/v1/reviews/99999999999", headers=headers), 404)


def test_the_gate_api_and_the_cli_agree_for_every_demo_service(app, client, runner):
    load_demo()
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    _, token = create_token(admin, name="ci", actor=admin)
    db.session.commit()
    slugs = db.session.scalars(select(Service.slug)).all()
    assert len(slugs) >= 7
    status_for_exit = {0: 200, 1: 409, 2: 404}
    for slug in [*slugs, "no-such-service"]:
        cli = runner.invoke(args=["gate", slug])
        api = client.get(f"/api/v1/services/{slug}/gate", headers=auth(token))
        assert api.status_code == status_for_exit[cli.exit_code], slug
        if api.status_code != 404:
            body = api.get_json()
            assert body["service"] == slug and body["allowed"] is (cli.exit_code == 0)
            assert set(body) == {"service", "allowed", "state", "reasons", "waivers",
                                 "environment", "advisory", "override"}
            assert all(reason in cli.output for reason in body["reasons"])
            assert all(f"waiver: {w['item']} ({w['title']}) until {w['expires_on']}"
                       in cli.output for w in body["waivers"])


def test_reading_services_events_reviews_and_candidates(app, client):
    load_demo()
    lead = db.session.scalar(select(User).where(User.email == "lead@example.com"))
    _, token = create_token(lead, name="read", actor=lead)
    db.session.commit()
    headers = auth(token)
    listing = client.get("/api/v1/services?state=ops_managed", headers=headers).get_json()
    assert [s["slug"] for s in listing["services"]] == ["ledger"]
    detail = client.get("/api/v1/services/search-api", headers=headers).get_json()
    assert detail["return_conditions"]["reason"].startswith("**Twelve pages a week**")
    assert detail["latest_facts"]["pages_per_week"]["value"] >= 0
    events = client.get("/api/v1/services/ledger/events", headers=headers).get_json()
    assert [e["kind"] for e in events["events"]] == ["launch", "handoff", "handback",
                                                     "handoff"]
    candidates = client.get("/api/v1/handback-candidates", headers=headers).get_json()
    assert [c["service"] for c in candidates["candidates"]] == ["ledger"]
    review_id = detail_review_id = events["events"][0]["review_id"]
    review = client.get(f"/api/v1/reviews/{review_id}", headers=headers).get_json()
    assert review["state"] == "approved" and review["content_hash"]
    assert 0 < review["progress"]["done"] <= review["progress"]["total"]
    assert {i["status"] for i in review["items"] if i["required"]} == {"met"}
    assert detail_review_id == review["id"]


def test_tokens_cli_prints_a_token_once_and_stores_only_its_digest(runner, client, org):
    result = runner.invoke(args=["tokens", "create", "member@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("rdy_")
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "ci"))
    assert row.digest == digest(token) and token not in (row.prefix, row.digest)
    assert token.startswith(row.prefix)
    assert client.get("/api/v1/services", headers=auth(token)).status_code == 200
    assert token not in str(db.session.scalars(select(AuditEntry.changes)).all())
    missing = runner.invoke(args=["tokens", "create", "nobody@example.com"])
    assert missing.exit_code == 1 and "no user" in missing.output


def test_the_profile_page_makes_shows_once_lists_and_revokes(client, login, org):
    login(org["member"])
    made = client.post("/profile/tokens", data={"name": "deploy pipeline"})
    page = made.get_data(as_text=True)
    assert "shown only this once" in page
    token = page.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert client.get("/api/v1/services", headers=auth(token)).status_code == 200
    listing = client.get("/profile/").get_data(as_text=True)
    assert token not in listing and token[:12] in listing and "deploy pipeline" in listing
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "deploy pipeline"))
    assert row.last_used_at is not None
    client.post(f"/profile/tokens/{row.id}/revoke")
    assert client.get("/api/v1/services", headers=auth(token)).status_code == 401
    assert client.post("/profile/tokens", data={"name": ""}).status_code == 422


def test_a_read_notes_its_tokens_use_after_answering(client, org):
    """The token's last use is written after the endpoint's work, in its own transaction."""
    assert db.session.scalar(select(ApiToken.last_used_at)
                             .where(ApiToken.name == "member")) is None
    response = client.get("/api/v1/services", headers=auth(org["tokens"]["member"]))
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)
                             .where(ApiToken.name == "member")) is not None


@pytest.mark.sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50)
def test_a_busy_database_does_not_fail_a_read_for_the_token_bookkeeping(
        app, client, org):
    """Marking the token used is a write after a read; when another writer holds SQLite's
    lock past the busy timeout, the read still answers and the bookkeeping waits for the
    next call."""
    with db.engine.connect() as other:
        other.execute(text("UPDATE team SET name = name"))  # holds the write lock
        response = client.get("/api/v1/services", headers=auth(org["tokens"]["member"]))
        assert response.status_code == 200
        assert [s["slug"] for s in response.get_json()["services"]] == ["checkout"]
        other.rollback()
    last_used = db.session.scalar(select(ApiToken.last_used_at)
                                  .where(ApiToken.name == "member"))
    assert last_used is None  # skipped: the database was busy
    assert client.get("/api/v1/services",
                      headers=auth(org["tokens"]["member"])).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)
                             .where(ApiToken.name == "member")) is not None


def test_a_huge_integer_value_is_a_clear_422_not_a_500(client, org):
    body = '[{"name": "pages_per_week", "value": 1' + "0" * 400 + ', "observed_at": "' \
        + now_iso(1) + '"}]'
    response = client.post("/api/v1/services/checkout/facts", data=body,
                           headers={**auth(org["tokens"]["member"]),
                                    "Content-Type": "application/json"})
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "value" and "1e+15" in body["errors"][0]["message"]
    assert facts_stored() == 0


def test_a_batch_partly_stored_before_stores_and_records_only_the_new_facts(client, org):
    headers = auth(org["tokens"]["member"])
    seen = [fact(days=2, value=2), fact(days=1, value=1)]
    client.post("/api/v1/services/checkout/facts", json=seen, headers=headers)
    response = client.post("/api/v1/services/checkout/facts",
                           json=[*seen, fact("slo_attainment_pct", 99.5)], headers=headers)
    assert response.get_json() == {"service": "checkout", "received": 3, "stored": 1,
                                   "already_stored": 2}
    assert facts_stored() == 3
    changes = db.session.scalars(select(AuditEntry.changes).where(
        AuditEntry.action == "fact:record").order_by(AuditEntry.seq)).all()
    changes = [{key: c[key] for key in ("count", "names")} for c in changes]
    assert changes == [{"count": 2, "names": ["pages_per_week"]},
                       {"count": 1, "names": ["slo_attainment_pct"]}]
    latest = client.get("/api/v1/services/checkout", headers=headers).get_json()
    assert {name: f["value"] for name, f in latest["latest_facts"].items()} == {
        "pages_per_week": 1, "slo_attainment_pct": 99.5}


@pytest.mark.sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50)
def test_a_write_locked_out_by_another_writer_is_a_503_with_retry_after(
        app, client, org):
    """SQLite's "database is locked" (another writer held the lock past the busy
    timeout) is a 503 asking to retry, for the API and for pages; nothing is stored."""
    with db.engine.connect() as other:
        other.execute(text("UPDATE team SET name = name"))  # holds the write lock
        response = client.post("/api/v1/services/checkout/facts", json=fact(),
                               headers=auth(org["tokens"]["member"]))
        assert_problem(response, 503, "busy")
        assert response.headers["Retry-After"] == "1"
        page = client.post("/login", data={"email": "member@example.com",
                                           "password": "correct horse"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "1"
        assert "busy" in page.get_data(as_text=True)
        other.rollback()
    assert facts_stored() == 0
    again = client.post("/api/v1/services/checkout/facts", json=fact(),
                        headers=auth(org["tokens"]["member"]))
    assert again.status_code == 200 and facts_stored() == 1


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000,
                                  '{"name": ' * 50_000 + "1" + "}" * 50_000])
def test_deeply_nested_json_is_a_400_not_a_500(client, org, body):
    response = client.post("/api/v1/services/checkout/facts", data=body,
                           headers={**auth(org["tokens"]["member"]),
                                    "Content-Type": "application/json"})
    assert_problem(response, 400, "JSON")
    assert facts_stored() == 0
