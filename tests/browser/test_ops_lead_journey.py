"""An ops lead hands a service off after an approved handoff review, then hands it back
with a reason; the timeline shows both."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from readiness.extensions import db
from readiness.models import Service, clock_at, utcnow

from ..factories import (
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_trial,
    make_user,
)
from .conftest import sign_in


@pytest.fixture
def org(live_app):
    with live_app.app_context():
        team = make_team(slug="payments", name="Payments")
        make_user(email="lead@example.com", name="Lee Navarro", roles=("ops_lead",))
        service = make_service(slug="ledger", name="Ledger", team=team, state="self_managed")
        with clock_at(utcnow() - timedelta(days=3)):
            make_review(service=service, checklist_version=make_checklist_version(),
                        state="approved")
            make_review(service=service, state="approved", checklist_version=(
                make_checklist_version("handoff-readiness", stage="handoff")))
        make_trial(service)  # Ops shadowed its pager for a week
        db.session.commit()


def test_hand_off_then_hand_back_with_a_reason(live_server, live_app, org, new_page):
    page = new_page()
    sign_in(page, live_server, "lead@example.com")
    page.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="Ledger").click()
    page.get_by_role("link", name="Hand off to Ops…").click()
    page.get_by_label("Note (optional)").fill("Quiet for a quarter; Ops takes the pager.")
    page.get_by_role("button", name="Hand off to Ops").click()
    expect(page.get_by_text("Ledger is handed off: Ops carries the pager now.")).to_be_visible()

    page.get_by_role("link", name="Hand back to the team").click()
    page.get_by_label("Reason").fill("Nine pages a week since the batch rewrite.")
    page.get_by_label("Conditions for return").fill("A month at two pages a week or fewer.")
    page.get_by_label("Target date for the return").fill("2099-03-31")
    page.get_by_role("button", name="Hand back to Payments").click()
    expect(page.get_by_text("Ledger is handed back to Payments.")).to_be_visible()
    expect(page.get_by_role("heading", name="Open conditions for Ops to take it back")
           ).to_be_visible()

    timeline = page.get_by_role("list").filter(has_text="Handed back to the team")
    expect(timeline.get_by_text("Handed off: Ops carries the pager")).to_be_visible()
    expect(timeline.get_by_text("Nine pages a week since the batch rewrite.")).to_be_visible()
    expect(timeline.get_by_text("Quiet for a quarter; Ops takes the pager.")).to_be_visible()
    with live_app.app_context():
        assert db.session.query(Service.state).filter_by(slug="ledger").scalar() == (
            "self_managed")
