"""Who carries the pager, measured, through the web, the API and the CLI: the handoff
guards, pager trials, the Ops capacity ledger, gate environments and break-glass."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from readiness.commands.lifecycle import transition
from readiness.commands.pager import set_capacity
from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.models import AuditEntry, ManagementEvent, PagerTrial, Service, clock_at, utcnow

from ..factories import (
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_trial,
    make_user,
    on_the_demo_as,
)


@pytest.fixture
def org(app):
    team = make_team(slug="payments", name="Payments")
    lead = make_user(email="lead@example.com", name="Lee Navarro", roles=("ops_lead",))
    launch = make_checklist_version()
    handoff = make_checklist_version("handoff-readiness", stage="handoff")
    services = {}
    for slug, launched_days_ago in (("ledger", 300), ("checkout", 100), ("refunds", 250)):
        service = make_service(slug=slug, name=slug.title(), team=team)
        make_review(service=service, checklist_version=launch, state="approved")
        transition(service, "launch", actor=lead,
                   now=utcnow() - timedelta(days=launched_days_ago))
        services[slug] = service
    # Ledger is Ops-managed already (12 h a week, by its estimate).
    make_review(service=services["ledger"], checklist_version=handoff, state="approved")
    make_trial(services["ledger"], ended_days_ago=3)
    transition(services["ledger"], "handoff", actor=lead, ops_hours_estimate=12.0)
    for slug in ("checkout", "refunds"):
        make_review(service=services[slug], checklist_version=handoff, state="approved")
    set_capacity(40.0, actor=lead)
    db.session.commit()
    return {"lead": lead, "services": services, "team": team}


def state(slug):
    db.session.expire_all()
    return db.session.scalar(select(Service.state).where(Service.slug == slug))


def events():
    return db.session.scalar(select(func.count()).select_from(ManagementEvent))


def test_a_handoff_before_the_self_managed_minimum_is_refused_with_the_date(
        app, client, login, org, monkeypatch):
    monkeypatch.setitem(app.config, "HANDOFF_MIN_SELF_MANAGED_DAYS", 180)
    make_trial(org["services"]["checkout"], ended_days_ago=2)
    db.session.commit()
    login(org["lead"])
    before = events()
    response = client.post("/services/checkout/hand-off", data={"ops_hours": "2"})
    assert response.status_code == 422
    eligible = (utcnow() - timedelta(days=100) + timedelta(days=180)).date()
    page = response.get_data(as_text=True)
    assert "at least 180 days self-managed since its launch on" in page
    assert f"(eligible from {eligible.isoformat()})" in page
    assert state("checkout") == "self_managed" and events() == before
    # The service page says so too, and the handoff page lists what is missing.
    assert f"eligible from {eligible.isoformat()}" in client.get(
        "/services/checkout").get_data(as_text=True)


def test_a_handoff_needs_a_passed_trial_recorded_on_the_page(app, client, login, org):
    login(org["lead"])
    page = client.get("/services/refunds/hand-off").get_data(as_text=True)
    assert "A passed pager trial ended after its launch on" in page
    today = utcnow().date()
    bad = {"started_on": (today - timedelta(days=5)).isoformat(),
           "ended_on": today.isoformat(), "shadow": "Lee", "pages_total": "4",
           "pages_actionable": "5", "outcome": "passed"}
    response = client.post("/services/refunds/trials", data=bad)
    assert response.status_code == 422
    assert "A pager trial lasts at least 7 days" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PagerTrial)) == 1  # ledger's
    good = {**bad, "started_on": (today - timedelta(days=8)).isoformat(),
            "ended_on": (today - timedelta(days=1)).isoformat(), "pages_actionable": "3",
            "notes": "Two noisy alerts <b>tuned</b>."}
    assert client.post("/services/refunds/trials", data=good).status_code == 302
    page = client.get("/services/refunds/hand-off").get_data(as_text=True)
    assert "Every guard is met." in page
    assert "Two noisy alerts &lt;b&gt;tuned&lt;/b&gt;." in page  # text, never markup
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "trial:record")).all()[-1]
    assert entry.changes["outcome"] == "passed" and entry.changes["pages_total"] == 4


def test_the_ledger_total_is_the_sum_of_the_loads_and_the_cap_needs_a_reason(
        app, client, login, org):
    make_trial(org["services"]["refunds"], ended_days_ago=2)
    db.session.commit()
    login(org["lead"])
    page = client.get("/ledger").get_data(as_text=True)
    loads = [float(x) for x in re.findall(
        r'<td class="num">([\d.]+)</td><td>(?:latest fact|estimate at handoff|no figure)',
        page)]
    total = float(re.search(r'id="ledger-total">([\d.]+)<', page)[1])
    assert loads == [12.0] and total == sum(loads)
    assert "12 h of 40 h a week (30 %)" in page
    # Taking refunds at 9 h a week: 21 h of 40 h, over the 20 h cap.
    form = client.get("/services/refunds/hand-off").get_data(as_text=True)
    assert "After taking Refunds: 12 h of 40 h (30 %)" in form  # no estimate typed yet
    before = events()
    response = client.post("/services/refunds/hand-off", data={"ops_hours": "9"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "a reason to go over the Ops cap of 50 % (after taking Refunds: 21 h of 40 h " \
           "(52 %))" in text
    assert state("refunds") == "self_managed" and events() == before
    response = client.post("/services/refunds/hand-off", data={
        "ops_hours": "9", "over_cap_reason": "Winter peak: two Ops engineers join in May."})
    assert response.status_code == 302 and state("refunds") == "ops_managed"
    page = client.get("/ledger").get_data(as_text=True)
    loads = [float(x) for x in re.findall(
        r'<td class="num">([\d.]+)</td><td>(?:latest fact|estimate at handoff|no figure)',
        page)]
    assert sorted(loads) == [9.0, 12.0]
    assert float(re.search(r'id="ledger-total">([\d.]+)<', page)[1]) == sum(loads) == 21.0
    assert "Winter peak: two Ops engineers join in May." in page
    handoff = db.session.scalars(select(ManagementEvent).where(
        ManagementEvent.kind == "handoff").order_by(ManagementEvent.id.desc())).first()
    assert (handoff.ops_hours_estimate, handoff.over_cap_reason) == (
        9.0, "Winter peak: two Ops engineers join in May.")


def test_a_fact_replaces_the_estimate_in_the_ledger(app, client, login, org):
    from readiness.commands.facts import record_facts
    from readiness.domain.facts import FactInput

    record_facts(org["services"]["ledger"], [FactInput("ops_hours_per_week", 7.5, utcnow(),
                                                       "timesheets")], actor=None)
    db.session.commit()
    login(org["lead"])
    page = client.get("/ledger").get_data(as_text=True)
    assert '<td class="num">7.5</td><td>latest fact</td>' in page


def gate(client, token, slug, environment=None):
    query = f"?environment={environment}" if environment else ""
    return client.get(f"/api/v1/services/{slug}/gate{query}",
                      headers={"Authorization": f"Bearer {token}"})


def test_gate_environments_and_break_glass_on_the_api_and_the_cli(
        app, client, login, runner, org, monkeypatch):
    service = make_service(slug="fresh", team=org["team"], state="self_managed")
    db.session.commit()  # live, but no launch approval: the gate refuses
    _, token = create_token(org["lead"], name="ci", actor=org["lead"])
    db.session.commit()
    refused = gate(client, token, "fresh")
    assert refused.status_code == 409 and refused.get_json()["advisory"] is False
    assert runner.invoke(args=["gate", "fresh"]).exit_code == 1
    staging = gate(client, token, "fresh", "staging")
    assert staging.status_code == 200
    assert (staging.get_json()["allowed"], staging.get_json()["advisory"]) == (False, True)
    result = runner.invoke(args=["gate", "fresh", "--environment", "staging"])
    assert result.exit_code == 0 and "refused (self-managed) (advisory)" in result.output
    assert gate(client, token, "fresh", "Not A Name").status_code == 400
    # An environment set to enforce refuses like production.
    monkeypatch.setitem(app.config, "GATE_ENVIRONMENTS",
                        {"production": "enforce", "staging": "enforce"})
    assert gate(client, token, "fresh", "staging").status_code == 409
    assert runner.invoke(args=["gate", "fresh", "--environment", "staging"]).exit_code == 1
    # Break-glass through the page: an ops lead, a reason, at most 24 hours.
    login(org["lead"])
    assert client.post("/services/fresh/override", data={
        "hours": "30", "reason": "Hotfix."}).status_code == 302
    assert gate(client, token, "fresh").status_code == 409  # refused: more than 24 h
    client.post("/services/fresh/override", data={"hours": "2", "reason": "Hotfix for "
                                                                          "the outage."})
    response = gate(client, token, "fresh")
    assert response.status_code == 200
    body = response.get_json()
    assert body["allowed"] is True and body["override"]["by"] == "Lee Navarro"
    assert body["override"]["reason"] == "Hotfix for the outage."
    result = runner.invoke(args=["gate", "fresh"])
    assert result.exit_code == 0 and "allowed by a break-glass override" in result.output
    assert "Break-glass override" in client.get("/services/fresh").get_data(as_text=True)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "gate:override")).one()
    assert entry.changes["reason"] == "Hotfix for the outage."
    # When it expires, the gate refuses again.
    with clock_at(utcnow() + timedelta(hours=2, minutes=1)):
        assert gate(client, token, "fresh").status_code == 409
        assert runner.invoke(args=["gate", "fresh"]).exit_code == 1
    assert service.id


def test_handback_candidates_show_their_share_of_the_ops_load(app, client, login):
    on_the_demo_as(login, "lead@example.com")
    page = client.get("/handback-candidates").get_data(as_text=True)
    assert "/services/ledger" in page and "14 h a week, 100 % of Ops' load" in page


def test_trials_and_overrides_are_on_the_timeline(app, client, login):
    on_the_demo_as(login, "lead@example.com")
    page = client.get("/services/notify?show=events").get_data(as_text=True)
    assert "Pager trial recorded: failed" in page and "Most pages were a noisy disk" in page
    assert "Gate overridden (break-glass)" in page and "order-email outage" in page


def test_gate_environments_are_read_from_the_setting():
    from readiness.config import gate_environments

    assert gate_environments("") == {"production": "enforce"}
    assert gate_environments("staging=enforce, production=advisory") == {
        "production": "advisory", "staging": "enforce"}
    with pytest.raises(ValueError, match="'staging' is not NAME=enforce"):
        gate_environments("staging")


def test_the_cap_counts_the_load_the_ledger_will_count(app, client, login, runner, org):
    """A fact beats a low or empty estimate; -0 is 0 and the record stays verifiable."""
    from readiness.commands.facts import record_facts
    from readiness.domain.facts import FactInput

    refunds = org["services"]["refunds"]
    make_trial(refunds, ended_days_ago=2)
    record_facts(refunds, [FactInput("ops_hours_per_week", 20.0, utcnow(), "timesheets")],
                 actor=None)
    db.session.commit()
    login(org["lead"])
    for hours in ("", "0", "-0"):
        response = client.post("/services/refunds/hand-off", data={"ops_hours": hours})
        assert response.status_code == 422, hours
        assert "after taking Refunds: 32 h of 40 h (80 %)" in response.get_data(as_text=True)
    assert state("refunds") == "self_managed"
    client.post("/services/refunds/hand-off", data={"ops_hours": "-0",
                                                    "over_cap_reason": "Needed."})
    assert state("refunds") == "ops_managed"
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_overrides_count_only_for_live_services_and_names_are_checked(
        app, client, login, runner, org):
    from readiness.commands.pager import grant_override

    fresh = make_service(slug="fresh", team=org["team"], state="self_managed")
    grant_override(fresh, actor=org["lead"], reason="Hotfix.",
                   expires_at=utcnow() + timedelta(hours=3))
    db.session.commit()
    assert runner.invoke(args=["gate", "fresh"]).exit_code == 0
    transition(fresh, "retire", actor=org["lead"], reason="Gone.")
    db.session.commit()
    result = runner.invoke(args=["gate", "fresh"])
    assert result.exit_code == 1 and "override" not in result.output
    login(org["lead"])
    client.post("/services/fresh/override", data={"hours": "2", "reason": "Again."})
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "gate:override")) == 1
    result = runner.invoke(args=["gate", "ledger", "--environment", "Production"])
    assert result.exit_code == 2 and "--environment" in result.output
    assert client.post("/ledger/capacity", data={"hours": "0"}).status_code == 302
    assert "Capacity not changed" in client.get("/ledger").get_data(as_text=True)
