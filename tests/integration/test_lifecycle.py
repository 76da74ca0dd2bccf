"""Who supports a service, through the web and the CLI: launch, handoff, handback, retire,
the timeline, the dashboard and the deploy gate."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from readiness.cli.demo import load_demo
from readiness.commands.facts import record_facts
from readiness.domain.facts import FactInput
from readiness.domain.lifecycle import STATE_LABELS
from readiness.extensions import db
from readiness.models import ManagementEvent, Service, clock_at, utcnow

from ..factories import (
    SMALL_CHECKLIST,
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_trial,
    make_user,
    on_the_demo_as,
)

HANDBACK_CRITERIA = {
    "id": "handback-criteria", "title": "Handback criteria", "stage": "handback",
    "version": 1, "sections": [{"id": "load", "title": "Load", "items": [
        {"id": "pager-load", "title": "Pager load stays low", "required": True,
         "evidence": "none",
         "check": {"fact": "pages_per_week", "op": "<=", "value": 5, "max_age_days": 7}},
    ]}],
}


@pytest.fixture
def org(app):
    team = make_team(slug="payments", name="Payments")
    member = make_user(email="member@example.com", teams=[team])
    lead = make_user(email="lead@example.com", name="Lee Lead", roles=("ops_lead",))
    service = make_service(slug="ledger", name="Ledger", team=team, state="development")
    launch = make_checklist_version()
    handoff = make_checklist_version("handoff-readiness", stage="handoff")
    make_checklist_version("handback-criteria", stage="handback", content=HANDBACK_CRITERIA)
    db.session.commit()
    return {"team": team, "member": member, "lead": lead, "service": service,
            "launch": launch, "handoff": handoff}


def state(slug="ledger"):
    db.session.expire_all()
    return db.session.scalar(select(Service.state).where(Service.slug == slug))


def text(response):
    return response.get_data(as_text=True)


def test_launch_needs_an_approved_launch_review(client, login, org):
    login(org["lead"])
    refused = client.post("/services/ledger/launch", follow_redirects=True)
    assert "Cannot launch: needs an approved launch review." in text(refused)
    assert state() == "development"
    make_review(service=org["service"], checklist_version=org["launch"], state="approved")
    db.session.commit()
    assert client.post("/services/ledger/launch").status_code == 302
    assert state() == "self_managed"
    event = db.session.scalars(select(ManagementEvent)).one()
    assert (event.kind, event.actor_id, event.review_id is not None) == (
        "launch", org["lead"].id, True)


def hand_off(client):
    return client.post("/services/ledger/hand-off", data={"reason": "Ops accepts"},
                       follow_redirects=True)


def test_handback_then_handoff_needs_a_new_handoff_review(client, login, org):
    service = org["service"]
    past = utcnow() - timedelta(days=30)
    with clock_at(past):
        make_review(service=service, checklist_version=org["launch"], state="approved")
        make_review(service=service, checklist_version=org["handoff"], state="approved")
    service.state = "self_managed"
    make_trial(service, ended_days_ago=21)  # a passed pager trial: Ops shadowed a week
    db.session.commit()
    login(org["lead"])
    with clock_at(utcnow() - timedelta(days=20)):  # handed off twenty days ago
        assert "handed off" in text(hand_off(client))
    assert state() == "ops_managed"

    with clock_at(utcnow() - timedelta(days=10)):  # handed back ten days ago
        back = client.post("/services/ledger/hand-back", data={
            "reason": "Nine pages a week.", "return_conditions": "A quiet month.",
            "return_items": ["pager-load"], "target_date": "2099-01-31"})
    assert back.status_code == 302
    assert state() == "self_managed"
    page = text(client.get("/services/ledger"))
    assert "Open conditions for Ops to take it back" in page
    assert "A quiet month." in page and "2099-01-31" in page

    refused = hand_off(client)
    assert "needs an approved handoff review made after the handback" in text(refused)
    assert state() == "self_managed"

    make_review(service=service, checklist_version=org["handoff"], state="approved")
    db.session.commit()
    refused = hand_off(client)  # the trial before the handback no longer counts
    assert "a passed pager trial ended after its handback on" in text(refused)
    make_trial(db.session.get(type(service), service.id))
    db.session.commit()
    assert "handed off" in text(hand_off(client))
    assert state() == "ops_managed"
    assert "Open conditions" not in text(client.get("/services/ledger"))


def test_the_handback_records_reason_facts_failing_criteria_and_the_way_back(
        client, login, org):
    org["service"].state = "ops_managed"
    now = utcnow()
    record_facts(org["service"], [FactInput("pages_per_week", 9.0, now - timedelta(days=1),
                                            "pagerduty")], actor=None)
    db.session.commit()
    login(org["lead"])
    form = text(client.get("/services/ledger/hand-back"))
    assert "pages_per_week = 9, needs pages_per_week &lt;= 5" in form

    missing = client.post("/services/ledger/hand-back", data={
        "reason": " ", "return_conditions": "Kept text", "target_date": "31/01/2099"})
    assert missing.status_code == 422
    assert "Say why the service goes back" in text(missing)
    assert "Give the date as YYYY-MM-DD." in text(missing)
    assert "Kept text" in text(missing)
    assert state() == "ops_managed"

    client.post("/services/ledger/hand-back", data={
        "reason": "Too noisy", "return_items": ["pager-load"]})
    event = db.session.scalars(select(ManagementEvent)).one()
    assert event.reason == "Too noisy"
    assert event.facts["pages_per_week"]["value"] == 9.0
    assert event.facts["pages_per_week"]["source"] == "pagerduty"
    assert [f["item"] for f in event.failing_items] == ["pager-load"]
    assert event.return_items == ["pager-load"]


def test_unknown_return_items_and_past_dates_are_refused(client, login, org):
    org["service"].state = "ops_managed"
    db.session.commit()
    login(org["lead"])
    bad_item = client.post("/services/ledger/hand-back", data={
        "reason": "x", "return_items": ["no-such-item"]})
    assert bad_item.status_code == 422
    assert "Not items of the handoff checklist: no-such-item." in text(bad_item)
    past = client.post("/services/ledger/hand-back", data={
        "reason": "x", "target_date": "2001-01-01"})
    assert past.status_code == 422
    assert "The target date is in the past." in text(past)
    assert state() == "ops_managed"


def test_retire_needs_a_reason_and_is_final(client, login, org):
    login(org["lead"])
    refused = client.post("/services/ledger/retire", data={"reason": "", "confirm": "yes"},
                          follow_redirects=True)
    assert "needs a reason for the retire" in text(refused)
    assert state() == "development"
    unconfirmed = client.post("/services/ledger/retire", data={"reason": "Replaced"},
                              follow_redirects=True)
    assert "tick the box to confirm that Ledger is to be retired" in text(unconfirmed)
    assert state() == "development"
    client.post("/services/ledger/retire", data={"reason": "Replaced", "confirm": "yes"})
    assert state() == "retired"
    again = client.post("/services/ledger/retire", data={"reason": "Again", "confirm": "yes"},
                        follow_redirects=True)
    assert "the service is retired" in text(again)


def launched_with_facts(client, login, org):
    """An approved launch review, three readings (3, 3, 8), and the launch by the lead."""
    service = org["service"]
    now = utcnow()
    make_review(service=service, checklist_version=org["launch"], state="approved")
    record_facts(service, [FactInput("pages_per_week", v, now - timedelta(days=d), "pd")
                           for v, d in ((3.0, 3), (3.0, 2), (8.0, 1))], actor=None)
    db.session.commit()
    login(org["lead"])
    client.post("/services/ledger/launch", data={"reason": "Ready for traffic"})


def test_the_timeline_shows_reviews_decisions_events_and_fact_changes_with_who_and_why(
        client, login, org):
    launched_with_facts(client, login, org)
    page = text(client.get("/services/ledger?timeline=all"))
    timeline = page[page.index('id="timeline-title"'):]
    assert "Launched: the team carries the pager" in timeline
    assert "by Lee Lead" in timeline and "Ready for traffic" in timeline
    assert "Review approved and signed off" in timeline
    assert "pages_per_week = 8 (was 3)" in timeline
    assert timeline.count("pages_per_week = 3") == 1  # an unchanged reading is no change
    assert timeline.index("Launched") < timeline.index("pages_per_week = 8")


def test_fact_changes_are_read_from_each_facts_newest_readings_only(org):
    """A fact with more readings than the window shows the changes among its newest ones
    (the reading before the window serves only as the previous value); a fact with
    fewer shows all its changes, its first reading included."""
    from readiness.queries.timeline import fact_changes

    service, now = org["service"], utcnow()
    readings = [FactInput("pages_per_week", v, now - timedelta(hours=5 - i), "pd")
                for i, v in enumerate((1.0, 1.0, 2.0, 2.0, 3.0))]
    readings.append(FactInput("slo_attainment_pct", 99.0, now - timedelta(hours=9), "slo"))
    record_facts(service, readings, actor=None)
    db.session.commit()

    def titles(window):
        return [entry.title for entry in fact_changes(service.id, 200, window=window)]

    assert titles(3) == ["pages_per_week = 3 (was 2)", "pages_per_week = 2 (was 1)",
                         "slo_attainment_pct = 99"]
    # The reading before the window (value 1) makes the window's first (also 1) no change.
    assert titles(4) == titles(3)
    everything = ["pages_per_week = 3 (was 2)", "pages_per_week = 2 (was 1)",
                  "pages_per_week = 1", "slo_attainment_pct = 99"]
    assert titles(5) == titles(5_000) == everything


def test_only_ops_leads_and_admins_see_and_use_the_actions(client, login, org):
    login(org["member"])
    assert "Who supports it" in text(client.get("/services/ledger"))
    assert 'action="/services/ledger/retire"' not in text(client.get("/services/ledger"))
    assert client.post("/services/ledger/retire", data={"reason": "x"}).status_code == 403
    assert state() == "development"


def test_dashboard_and_gate_on_the_demo_data(app, client, login, runner):
    on_the_demo_as(login, "lead@example.com")
    page = text(client.get("/"))
    candidates = page[page.index('id="candidates-title"'):page.index('id="expiring-title"')]
    assert "Ledger" in candidates and "pages_per_week = " in candidates
    expiring = page[page.index('id="expiring-title"'):page.index('id="waiting-title"')]
    assert "Checkout" in expiring
    assert page.count("<svg") == 3
    assert "Handbacks per month" in page and "Median review cycle time" in page

    expected = {"checkout": 0, "ledger": 0, "search-api": 0, "refunds": 1,
                "invoice-pdf": 1, "no-such-service": 2}
    for slug, code in expected.items():
        result = runner.invoke(args=["gate", slug])
        assert result.exit_code == code, (slug, result.output)
    refused = runner.invoke(args=["gate", "refunds"])
    assert "still in development" in refused.output
    states = set(db.session.scalars(select(Service.state)))
    assert states == {"development", "self_managed", "ops_managed", "retired"}
    handback = db.session.scalars(select(ManagementEvent).where(
        ManagementEvent.kind == "handback").order_by(ManagementEvent.created_at.desc())).first()
    assert handback.reason and handback.return_conditions and handback.failing_items


@pytest.mark.parametrize("shown", [0, 10])
def test_the_dashboard_shows_the_first_entries_and_links_to_the_whole_lists(
        make_app, shown):
    app = make_app(DASHBOARD_SHOWN=shown)
    client = app.test_client()
    with app.app_context():
        load_demo()
        db.session.commit()
        client.post("/login", data={"email": "lead@example.com", "password": "demo"})
        page = text(client.get("/"))
        candidates = page[page.index('id="candidates-title"'):page.index('id="expiring-title"')]
        expiring = page[page.index('id="expiring-title"'):page.index('id="waiting-title"')]
        if shown == 0:
            assert "Ledger" not in candidates and "All 1 handback candidates" in candidates
            assert "Checkout" not in expiring and "All 1 expiring approvals" in expiring
        else:  # the one entry of each list is on the dashboard itself
            assert "Ledger" in candidates and "All 1 handback candidates" not in candidates
            assert "Checkout" in expiring and "All 1 expiring approvals" not in expiring

        whole = text(client.get("/handback-candidates"))
        assert "Ledger" in whole and "pages_per_week = " in whole
        assert "Checkout" in text(client.get("/expiring-approvals"))


@pytest.mark.parametrize("path", ["/handback-candidates", "/expiring-approvals"])
def test_the_whole_lists_need_a_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def section(page, heading_id):
    start = page.index(f'id="{heading_id}"')
    end = page.find("<section", start)
    return page[start:end if end != -1 else len(page)]


def test_the_ops_leads_my_work_is_their_queue_on_the_demo(app, client, login):
    """Issue 19, defect 4: pending launches, handoffs waiting for acceptance, handback
    candidates and expiring approvals, each linking to where the lead acts."""
    on_the_demo_as(login, "lead@example.com")
    page = text(client.get("/my-work"))
    launches = section(page, "ready-launch")
    assert "Payouts" in launches and "/services/payouts#support" in launches
    assert "Refunds" not in launches  # a draft, not approved
    handoffs = section(page, "ready-handoff")
    assert "Checkout" in handoffs and "/services/checkout#support" in handoffs
    assert "Ledger" not in handoffs  # Ops-managed already
    assert "Ledger" in section(page, "lead-candidates")
    assert "Checkout" in section(page, "lead-expiring")

    # Each entry is something the lead can do now: the service page offers it.
    service_page = text(client.get("/services/payouts"))
    assert 'action="/services/payouts/launch"' in service_page


def test_a_launch_waits_no_more_once_launched_and_a_handoff_once_accepted(
        app, client, login):
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    team = make_team()
    service = make_service(slug="payouts", name="Payouts", team=team)
    make_review(service=service, state="approved",
                checklist_version=make_checklist_version())
    db.session.commit()
    login(lead)
    assert "Payouts" in section(text(client.get("/my-work")), "ready-launch")
    assert client.post("/services/payouts/launch").status_code == 302
    page = text(client.get("/my-work"))
    assert "Payouts" not in section(page, "ready-launch")
    assert "Payouts" not in section(page, "ready-handoff")  # no handoff review yet


def test_the_service_page_names_its_last_event_in_plain_words_with_an_excerpt(
        app, client, login):
    """Issue 19, defects 6 and 11: the "since" line shows a plain-text excerpt of the
    reason (its Markdown rendered away, long ones cut), the gate line ends with a full
    stop, and each state has one label, from the domain, wherever it is shown."""
    on_the_demo_as(login, "lead@example.com")
    page = text(client.get("/services/search-api"))
    since = page[page.index('class="since"'):]
    since = since[:since.index("</p>")]
    assert "handed back to the team by Lee Navarro" in since
    assert "Twelve pages a week since the index migration" in since
    assert "**" not in since and "…" in since and "(in full in the timeline)" in since
    timeline = page[page.index('id="timeline-title"'):]
    assert "<strong>Twelve pages a week</strong>" in timeline  # whole, rendered, there
    ledger = text(client.get("/services/ledger"))
    since = ledger[ledger.index('class="since"'):]
    since = since[:since.index("</p>")]
    assert "handed off to Ops by" in since and "(in full" not in since  # short: whole

    refunds = text(client.get("/services/refunds"))
    gate = refunds[refunds.index('class="gate'):]
    assert "no approved launch review.\n" in gate[:gate.index("</p>")]

    listing = text(client.get("/services/"))
    dashboard = text(client.get("/"))
    for page in (listing, dashboard, ledger):
        assert "ops managed" not in page.replace("Ops-managed", "")
    assert '<span class="badge state-ops_managed">Ops-managed</span>' in listing
    assert '<span class="badge state-changes_requested">Changes requested</span>' in text(
        client.get("/services/fraud-score"))


def test_retiring_withdraws_the_open_reviews_with_an_entry_each(client, login, org):
    """Issue 19, defect 8: no review of a retired service waits in a queue."""
    from readiness.models import AuditEntry, Review

    service = org["service"]
    draft = make_review(service=service, checklist_version=org["launch"])
    submitted = make_review(service=service, checklist_version=org["handoff"],
                            state="submitted")
    done = make_review(service=service, checklist_version=org["launch"], state="approved")
    db.session.commit()
    login(org["lead"])
    page = text(client.get("/services/ledger"))
    assert "Retiring cannot be undone; its 2 open reviews will be withdrawn." in page
    client.post("/services/ledger/retire", data={"reason": "Replaced", "confirm": "yes"})
    db.session.expire_all()
    states = {r.id: r.state for r in db.session.scalars(select(Review))}
    assert states == {draft.id: "withdrawn", submitted.id: "withdrawn", done.id: "approved"}
    closed = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "review:withdraw")).all()
    assert sorted(int(e.subject_id) for e in closed) == sorted([draft.id, submitted.id])
    assert all(e.changes == {"reason": "the service was retired"} for e in closed)
    consultant = make_user(email="c@example.com", roles=("consultant",))
    db.session.commit()
    client.post("/logout")
    login(consultant)
    assert "No review is waiting for a decision." in text(client.get("/my-work"))


def test_a_handoff_with_a_launch_approval_about_to_expire_says_so(client, login, org):
    """Issue 19, defect 14."""
    service = org["service"]
    service.state = "self_managed"
    soon = make_checklist_version(version=2, content={**SMALL_CHECKLIST, "version": 2,
                                                      "valid_for_days": 20})
    make_review(service=service, checklist_version=soon, state="approved")
    make_review(service=service, checklist_version=org["handoff"], state="approved")
    make_trial(service)
    db.session.commit()
    login(org["lead"])
    page = text(client.get("/services/ledger"))
    assert "The launch approval counts only until" in page
    assert "needs a launch re-review within weeks" in page


def test_the_timeline_tells_a_handback_from_a_handoff_and_a_request_from_an_approval(
        app, client, login):
    """Issue 19, defect 13: each meaning has its own tone (colour and shape)."""
    on_the_demo_as(login, "lead@example.com")
    page = text(client.get("/services/ledger"))
    timeline = page[page.index('id="timeline-title"'):]

    def tone_of(title):
        before = timeline[:timeline.index(title)]
        return before[before.rindex("<li class="):].split('"')[1]

    assert tone_of("Handed back to the team") == "timeline-support tone-bad"
    assert tone_of("Handed off: Ops carries the pager") == "timeline-support tone-good"
    assert tone_of("Review approved and signed off") == "timeline-decision tone-good"
    fraud = text(client.get("/services/fraud-score"))
    fraud = fraud[fraud.index('id="timeline-title"'):]
    before = fraud[:fraud.index("Changes requested")]
    assert before[before.rindex("<li class="):].split('"')[1] == "timeline-decision tone-warn"


def test_the_expiring_approvals_say_days_left_and_team_and_lead_to_a_re_review(
        app, client, login):
    """Issue 19 ("also expected"): days left, the team, and a way to start the
    re-review (the service page's picker then starts at launch)."""
    on_the_demo_as(login, "team@example.com")
    page = text(client.get("/expiring-approvals"))
    row = page[page.index('href="/services/checkout"'):]
    row = row[:row.index("</tr>")]
    assert "<td><a href=\"/teams/payments\">Payments</a></td>" in row
    days = int(re.search(r'<td class="num">(\d+)</td>', row).group(1))
    assert 0 <= days <= 30
    assert 'href="/services/checkout?review=launch#reviews-title"' in row
    service_page = text(client.get("/services/checkout?review=launch"))
    picker = service_page.split('id="checklist_version_id"')[1]
    picker = picker[:picker.index("</select>")]
    selected = re.search(r'<option value="\d+" selected>([^<]+)</option>', picker).group(1)
    assert selected.startswith("Launch Readiness Review")


@pytest.mark.parametrize(("shown", "present", "absent"), [
    ("changes", ["Launched", "Review approved"], ["pages_per_week = 8"]),
    ("events", ["Launched"], ["Review approved", "pages_per_week = 8"]),
    ("decisions", ["Review approved"], ["Launched", "Review started", "pages_per_week = 8"]),
    ("facts", ["pages_per_week = 8 (was 3)"], ["Launched", "Review approved"]),
    ("nonsense", ["Launched", "Review approved"], ["pages_per_week = 8"]),
])
def test_the_timeline_can_be_filtered_and_each_fact_has_a_trend_line(
        client, login, org, shown, present, absent):
    """Issue 19 ("also expected"): decisions, events, facts; fact changes are left out by
    default, since each fact has its trend line above the timeline."""
    launched_with_facts(client, login, org)
    page = text(client.get(f"/services/ledger?timeline={shown}"))
    timeline = page[page.index('id="timeline-title"'):]
    for words in present:
        assert words in timeline, words
    for words in absent:
        assert words not in timeline.split("</nav>", 1)[1], words
    facts = page[page.index('id="facts-title"'):page.index('id="timeline-title"')]
    assert "<code>pages_per_week</code>" in facts
    assert 'aria-label="pages_per_week: last 3 readings, from 3 to 8"' in facts
    assert '<span class="latest">8</span>' in facts


def test_the_service_page_says_when_a_re_review_is_needed(client, login):
    from readiness.commands.reviews import decide_review
    from readiness.commands.services import update_service

    from ..factories import (
        SMALL_CHECKLIST,
        make_checklist_version,
        make_review,
        make_service,
        make_user,
    )
    lead = make_user(roles=("ops_lead",))
    consultant = make_user(roles=("consultant",))
    service = make_service(slug="payroll", name="Payroll", tier=2, state="self_managed")
    version = make_checklist_version()
    review = make_review(service=service, checklist_version=version, state="submitted",
                         answers=[("pager-load", "met", "ok"), ("alert-runbooks", "met", "ok")])
    db.session.commit()
    decide_review(review, actor=consultant, verdict="approve", comment="", item_comments={})
    db.session.commit()
    assert review.approved_tier == 2
    login(lead)
    assert "Needs a launch re-review" not in client.get("/services/payroll").text
    update_service(service, actor=lead, tier=1)
    make_checklist_version(version=2, content={**SMALL_CHECKLIST, "requires_rereview": True})
    db.session.commit()
    shown = client.get("/services/payroll").text
    assert ("Needs a launch re-review:</strong> its tier became more critical (tier 2 when "
            "approved, tier 1 now); version 2 of its launch checklist asks for a re-review "
            "(approved against version 1).") in shown


def test_the_dashboard_as_of_a_past_day_gives_the_states_the_events_give(
        app, client, login):
    """Issue 17: `?as_of=` rebuilt from the management events, compared with the state
    each service had after its last event by the end of that day."""
    from readiness.queries.dashboard import services_by_state_on

    on_the_demo_as(login, "lead@example.com")
    services = db.session.scalars(select(Service)).all()
    events = db.session.scalars(select(ManagementEvent).order_by(
        ManagementEvent.created_at)).all()
    days = sorted({e.created_at.date() for e in events})
    for day in days:
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        plain = {state: 0 for state in ("development", "self_managed", "ops_managed",
                                        "retired")}
        for service in services:
            if service.created_at >= end:
                continue
            made = [e for e in events if e.service_id == service.id and e.created_at < end]
            plain[made[-1].to_state if made else "development"] += 1
        assert services_by_state_on(day) == plain, day
    # Through the page: the day after the ledger's first handoff.
    day = days[len(days) // 2]
    page = text(client.get(f"/?as_of={day.isoformat()}"))
    tiles = dict((state, int(n)) for n, state in re.findall(
        r'<span class="number">(\d+)</span> <span class="label">([^<]+)</span>', page))
    expected = services_by_state_on(day)
    assert tiles == {STATE_LABELS[s]: n for s, n in expected.items()}
    assert f"at the end of {day.isoformat()}" in page
    assert "is not a date" in text(client.get("/?as_of=yesterday"))
    assert "still to come" in text(client.get("/?as_of=2999-01-01"))
