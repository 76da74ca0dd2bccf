"""The core loop in a real browser: the team fills in and submits, the consultant
requests changes, the team fixes and resubmits, the consultant approves."""

import re

import pytest
from playwright.sync_api import expect

from readiness.extensions import db
from readiness.models import Review

from ..factories import make_checklist_version, make_service, make_team, make_user
from .conftest import sign_in


@pytest.fixture
def org(live_app):
    with live_app.app_context():
        team = make_team(slug="payments", name="Payments")
        make_user(email="member@example.com", name="Tess Okafor", teams=[team])
        make_user(email="consultant@example.com", name="Connor Lindqvist",
                  roles=("consultant",))
        make_service(slug="checkout", name="Checkout", team=team)
        make_checklist_version()
        db.session.commit()


def answer(page, title, status, evidence, link=None):
    page.get_by_role("group", name=f"Answer for “{title}”").get_by_label(status,
                                                                       exact=True).check()
    page.get_by_label(f"Evidence for “{title}”").fill(evidence)
    if link is not None:
        page.get_by_label(f"Link for “{title}”").fill(link)


def start_and_submit(page, base):
    sign_in(page, base, "member@example.com")
    page.goto(f"{base}/services/checkout")
    page.get_by_label("Checklist").select_option(label="Launch Readiness Review (version 1)")
    page.get_by_role("button", name="Start a review").click()
    expect(page.get_by_text("0 of 2 required items done")).to_be_visible()
    answer(page, "Pager load is supportable", "Met", "About **two pages** a week.")
    answer(page, "Alerts link to runbooks", "Not applicable", "")
    page.get_by_role("button", name="Save and submit for review").click()
    # Refused: the not-applicable item has no justification; the typed text is kept.
    expect(page.get_by_role("heading", name=re.compile("Not ready to submit"))).to_be_visible()
    expect(page.get_by_label("Evidence for “Pager load is supportable”")).to_have_value(
        "About **two pages** a week.")
    answer(page, "Alerts link to runbooks", "Not applicable", "We page on nothing yet.")
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_text("Submitted: a consultant will review it.")).to_be_visible()
    return int(page.url.rsplit("/", 1)[1])


def test_a_team_member_starts_fills_in_and_submits_a_review(live_server, live_app, org,
                                                            new_page):
    page = new_page()
    review_id = start_and_submit(page, live_server)
    expect(page.get_by_text("2 of 2 required items done")).to_be_visible()
    expect(page.locator(".prose.evidence strong")).to_have_text("two pages")
    with live_app.app_context():
        assert db.session.get(Review, review_id).state == "submitted"


def test_changes_requested_then_fixed_then_approved(live_server, live_app, org, new_page):
    team_page = new_page()
    review_id = start_and_submit(team_page, live_server)

    consultant = new_page()
    sign_in(consultant, live_server, "consultant@example.com")
    consultant.get_by_role("link", name="My work").click()
    consultant.get_by_role("link", name="Launch Readiness Review").click()
    consultant.get_by_label("Your comment on “Alerts link to runbooks”").fill(
        "Link the runbook you will use once alerts exist.")
    consultant.get_by_label("Comment to the team").fill("Nearly there.")
    consultant.get_by_role("button", name="Request changes").click()
    expect(consultant.get_by_text("Sent back to the team with your comments.")).to_be_visible()

    team_page.get_by_role("link", name="My work").click()
    team_page.get_by_role("link", name="Launch Readiness Review").click()
    expect(team_page.get_by_text("Link the runbook you will use once alerts exist.")
           ).to_be_visible()
    answer(team_page, "Alerts link to runbooks", "Met", "Runbook written.",
           link="https://runbooks.example.com/checkout")
    team_page.get_by_role("button", name="Save and submit for review").click()
    expect(team_page.get_by_text("Submitted: a consultant will review it.")).to_be_visible()

    consultant.get_by_role("link", name="My work").click()
    consultant.get_by_role("link", name="Launch Readiness Review").click()
    # What changed since the request, at the top; the decision one click away.
    changed = consultant.get_by_role("note").filter(has_text="Resubmitted")
    expect(changed).to_contain_text("1 item changed since changes were requested")
    expect(changed.get_by_role("link", name="Alerts link to runbooks")).to_be_visible()
    expect(consultant.locator("#item-alert-runbooks").get_by_text(
        "changed since the request")).to_be_visible()
    expect(consultant.locator("#item-pager-load").get_by_text(
        "changed since the request")).to_have_count(0)
    go = consultant.get_by_role("link", name="Go to your decision")
    expect(go).to_be_in_viewport()
    go.click()
    expect(consultant.get_by_role("heading", name="Your decision")).to_be_in_viewport()
    consultant.get_by_label("Comment to the team").fill("Good to launch.")
    consultant.get_by_role("button", name="Approve and sign off").click()
    expect(consultant.get_by_text("Approved and signed off.")).to_be_visible()
    expect(consultant.get_by_text("Signed-off content hash")).to_be_visible()
    with live_app.app_context():
        review = db.session.get(Review, review_id)
        assert review.state == "approved" and review.content_hash
