"""Editing a review in a real browser (issue 19): a section's save is confirmed where the
person is, with keyboard focus kept there; a stale save marks only the answers another
person changed, even though the browser sends untouched multi-line answers back with
CRLF line endings."""

import pytest
from playwright.sync_api import expect

from readiness.extensions import db

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user
from .conftest import sign_in

TWO_LINES = "Two pages a week,\nall of them actionable."
RUNBOOKS = "Every alert links to its runbook.\nChecked in the last game day."


@pytest.fixture
def review_id(live_app):
    with live_app.app_context():
        team = make_team(slug="payments", name="Payments")
        make_user(email="tess@example.com", name="Tess Okafor", teams=[team])
        make_user(email="sam@example.com", name="Sam Achterberg", teams=[team])
        review = make_review(service=make_service(slug="checkout", team=team),
                             checklist_version=make_checklist_version(),
                             answers=[("pager-load", "met", TWO_LINES),
                                      ("alert-runbooks", "met", RUNBOOKS),
                                      ("chaos-drill", "not_met", "Planned.\nNot run yet.")])
        db.session.commit()
        return review.id


def test_a_saved_section_is_confirmed_where_the_person_is_with_focus_kept(
        live_server, review_id, new_page):
    page = new_page()
    page.set_viewport_size({"width": 1200, "height": 600})
    sign_in(page, live_server, "tess@example.com")
    page.goto(f"{live_server}/reviews/{review_id}")
    page.get_by_label("Evidence for “A failure drill was run”").fill("Ran it on Tuesday.")
    hygiene = page.locator("#section-hygiene")
    hygiene.get_by_role("button", name="Save answers").click()

    confirmation = hygiene.get_by_role("status")
    expect(confirmation).to_have_text("Saved (1 item changed).")
    expect(confirmation).to_be_in_viewport()
    expect(confirmation).to_be_focused()
    expect(page.locator("main > .flash")).to_have_count(0)  # not at the top, off-screen
    # The keyboard goes on from there: the next control is in the saved section's
    # neighbourhood, not the page's first link.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#section-hygiene') !== null "
                         "|| document.activeElement.closest('.form-actions') !== null")


def test_a_stale_save_marks_only_the_answers_someone_else_changed(
        live_server, review_id, new_page):
    tess, sam = new_page(), new_page()
    sign_in(tess, live_server, "tess@example.com")
    sign_in(sam, live_server, "sam@example.com")
    tess.goto(f"{live_server}/reviews/{review_id}")
    sam.goto(f"{live_server}/reviews/{review_id}")

    sam.get_by_label("Evidence for “Alerts link to runbooks”").fill(
        "Runbooks moved to the new wiki.\nLinks updated.")
    sam.get_by_role("button", name="Save answers", exact=True).last.click()
    expect(sam.get_by_text("Saved (1 item changed).")).to_be_visible()

    # Tess's page is stale: her multi-line answers go back untouched (as CRLF).
    tess.get_by_label("Evidence for “A failure drill was run”").fill("Ran it on Tuesday.")
    tess.get_by_role("button", name="Save answers", exact=True).last.click()
    expect(tess.get_by_text("Someone else saved this review while you were editing it")
           ).to_be_visible()
    notes = tess.locator(".saved-meanwhile")
    expect(notes).to_have_count(1)
    expect(tess.locator("#item-alert-runbooks .saved-meanwhile")).to_contain_text(
        "Saved meanwhile by Sam Achterberg")
    expect(tess.get_by_label("Evidence for “A failure drill was run”")).to_have_value(
        "Ran it on Tuesday.")
