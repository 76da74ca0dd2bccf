"""The profile in a real browser: a new token is copied with one click (issue 19)."""

from playwright.sync_api import expect

from readiness.extensions import db

from ..factories import make_user
from .conftest import sign_in


def test_a_new_token_is_copied_with_its_button(live_server, live_app, browser):
    with live_app.app_context():
        make_user(email="tess@example.com", name="Tess Okafor")
        db.session.commit()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    sign_in(page, live_server, "tess@example.com")
    page.goto(f"{live_server}/profile/")
    page.get_by_label("What the new token is for").fill("deploy pipeline")
    page.get_by_role("button", name="Make a token").click()
    token = page.get_by_label("Token", exact=True).input_value()
    assert token.startswith("rdy_")
    page.get_by_role("button", name="Copy the token").click()
    expect(page.locator("button[data-copy=new-token]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    context.close()
