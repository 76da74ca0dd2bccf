"""Issue 17 in a real browser, on the demo: an ops lead records a pager trial, tries a
handoff over the Ops cap, gives the reason, and reads the ledger. Screenshots go to
docs/screenshots/ with UPDATE_SCREENSHOTS=1."""

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from readiness.extensions import db
from readiness.models import ManagementEvent, PagerTrial, Service, utcnow

from .conftest import sign_in


def test_an_ops_lead_records_a_trial_goes_over_the_cap_with_a_reason_and_reads_the_ledger(
        live_app, live_server, demo, new_page, shots):
    today = utcnow().date()
    lead = new_page()
    sign_in(lead, live_server, "lead@example.com", "demo")
    lead.goto(f"{live_server}/services/checkout")
    lead.get_by_role("link", name="Hand off to Ops…").click()
    expect(lead.get_by_role("heading", name="Hand Checkout off to Ops")).to_be_visible()

    trial = lead.locator("form.trial-form")
    trial.get_by_label("Started on").fill((today - timedelta(days=6)).isoformat())
    trial.get_by_label("Ended on").fill(today.isoformat())
    trial.get_by_label("Who from Ops shadowed").fill("Lee Navarro")
    trial.get_by_label("Pages in all").fill("3")
    trial.get_by_label("Actionable pages").fill("3")
    trial.get_by_label("Passed").check()
    trial.get_by_role("button", name="Record the trial").click()
    expect(lead.get_by_text("A pager trial lasts at least 7 days")).to_be_visible()
    trial = lead.locator("form.trial-form")
    expect(trial.get_by_label("Who from Ops shadowed")).to_have_value("Lee Navarro")
    trial.get_by_label("Started on").fill((today - timedelta(days=7)).isoformat())
    trial.get_by_role("button", name="Record the trial").click()
    expect(lead.get_by_text("Pager trial recorded: passed.")).to_be_visible()

    lead.get_by_label("Ops load of Checkout, hours a week").fill("6")
    lead.get_by_role("button", name="Hand off to Ops").click()
    refusal = lead.get_by_role("alert")
    expect(refusal).to_contain_text("a reason to go over the Ops cap of 50 %")
    expect(lead.locator("#after-taking")).to_contain_text("After taking Checkout: 20 h of "
                                                          "30 h (67 %)")
    lead.screenshot(path=shots / "hand-off-over-cap.png", full_page=True)
    with live_app.app_context():
        assert db.session.scalar(select(Service.state).where(
            Service.slug == "checkout")) == "self_managed"
    lead.get_by_label("Reason to go over the Ops cap").fill(
        "Black-friday season: two Ops engineers join in January.")
    lead.get_by_role("button", name="Hand off to Ops").click()
    expect(lead.get_by_text("Checkout is handed off: Ops carries the pager now.")
           ).to_be_visible()

    lead.goto(f"{live_server}/ledger")
    expect(lead.locator(".ledger-summary")).to_contain_text("20 h of 30 h a week (67 %)")
    expect(lead.get_by_text("Black-friday season: two Ops engineers join in January.")
           ).to_be_visible()
    expect(lead.get_by_role("row", name="Checkout")).to_contain_text("6")
    lead.screenshot(path=shots / "ledger.png", full_page=True)
    with live_app.app_context():
        event = db.session.scalars(select(ManagementEvent).where(
            ManagementEvent.kind == "handoff").order_by(ManagementEvent.id.desc())).first()
        assert (event.ops_hours_estimate, event.over_cap_reason[:12]) == (6.0, "Black-friday")
        assert db.session.scalar(select(PagerTrial.shadow).order_by(
            PagerTrial.id.desc())) == "Lee Navarro"
    for name in ("hand-off-over-cap.png", "ledger.png"):
        assert (shots / name).stat().st_size > 10_000


def test_screenshot_of_a_team_page(live_server, demo, new_page, shots):
    page = new_page()
    sign_in(page, live_server, "team@example.com", "demo")
    page.goto(f"{live_server}/services/checkout")
    page.get_by_role("link", name="Payments").first.click()
    expect(page.get_by_role("heading", name="History by month")).to_be_visible()
    expect(page.locator("#team-readiness")).to_contain_text("approved")
    page.screenshot(path=shots / "team.png", full_page=True)
    assert (shots / "team.png").stat().st_size > 10_000
