"""Screenshots of the main pages on the demo data, for docs/ and for looking at.

They go to a temporary folder; with UPDATE_SCREENSHOTS=1 they replace the ones
in docs/screenshots/.
"""

from playwright.sync_api import expect

from .conftest import sign_in


def test_screenshots_of_the_review_pages(live_server, demo, new_page, shots):
    team = new_page()
    sign_in(team, live_server, "team@example.com", "demo")
    team.goto(f"{live_server}/reviews/{demo['draft']}")
    expect(team.get_by_role("button", name="Save and submit for review")).to_be_visible()
    team.screenshot(path=shots / "review-page.png")

    consultant = new_page()
    sign_in(consultant, live_server, "consultant@example.com", "demo")
    consultant.goto(f"{live_server}/my-work")
    consultant.screenshot(path=shots / "consultant-my-work.png")
    consultant.goto(f"{live_server}/reviews/{demo['submitted']}")
    expect(consultant.get_by_role("button", name="Approve and sign off")).to_be_visible()
    consultant.get_by_role("heading", name="Your decision").scroll_into_view_if_needed()
    consultant.screenshot(path=shots / "consultant-page.png")
    for name in ("review-page.png", "consultant-my-work.png", "consultant-page.png"):
        assert (shots / name).stat().st_size > 10_000


def test_screenshots_of_the_dashboard_and_a_timeline(live_server, demo, new_page, shots):
    lead = new_page()
    sign_in(lead, live_server, "lead@example.com", "demo")
    expect(lead.get_by_role("heading", name="Who supports what")).to_be_visible()
    lead.screenshot(path=shots / "dashboard.png", full_page=True)
    lead.goto(f"{live_server}/services/search-api")
    expect(lead.get_by_role("heading", name="Open conditions for Ops to take it back")
           ).to_be_visible()
    lead.screenshot(path=shots / "service-timeline.png", full_page=True)
    lead.goto(f"{live_server}/services/ledger/hand-back")
    lead.screenshot(path=shots / "hand-back.png")
    for name in ("dashboard.png", "service-timeline.png", "hand-back.png"):
        assert (shots / name).stat().st_size > 10_000


def test_screenshot_of_the_profile_with_a_new_token(live_server, demo, new_page, shots):
    page = new_page()
    sign_in(page, live_server, "team@example.com", "demo")
    page.get_by_role("link", name="Tess Okafor").click()
    page.get_by_label("What the new token is for").fill("deploy pipeline")
    page.get_by_role("button", name="Make a token").click()
    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    token = page.get_by_label("Token", exact=True).input_value()
    assert token.startswith("rdy_")
    page.screenshot(path=shots / "profile-tokens.png")
    page.goto(f"{live_server}/profile/")
    expect(page.get_by_role("cell", name="deploy pipeline", exact=True)).to_be_visible()
    expect(page.get_by_text("shown only this once")).to_have_count(0)
    assert token not in page.content()


def test_screenshots_of_the_ops_leads_queue_and_pages_on_a_phone(live_server, demo, browser,
                                                                 new_page, shots):
    lead = new_page()
    sign_in(lead, live_server, "lead@example.com", "demo")
    lead.goto(f"{live_server}/my-work")
    expect(lead.get_by_role("heading", name="Approved launches waiting to go live")
           ).to_be_visible()
    expect(lead.get_by_role("link", name="Payouts")).to_be_visible()
    lead.screenshot(path=shots / "lead-my-work.png", full_page=True)

    phone = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    page = phone.new_page()
    sign_in(page, live_server, "team@example.com", "demo")
    page.goto(f"{live_server}/reviews/{demo['draft']}")
    page.screenshot(path=shots / "phone-review.png")
    page.goto(f"{live_server}/services/checkout")
    page.screenshot(path=shots / "phone-service.png")
    phone.close()
    for name in ("lead-my-work.png", "phone-review.png", "phone-service.png"):
        assert (shots / name).stat().st_size > 10_000


def test_screenshots_of_the_subscription_pages(live_server, live_app, demo, new_page, shots):
    live_app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # no DNS here for hooks.example.com
    try:
        lead = new_page()
        sign_in(lead, live_server, "lead@example.com", "demo")
        lead.get_by_role("link", name="Subscriptions").click()
        lead.get_by_label("Address (URL, or email)").fill("https://hooks.example.com/readiness")
        lead.get_by_label("Teams (slugs, comma separated; empty: all you may)").fill("payments")
        lead.get_by_text("Events", exact=True).click()
        lead.get_by_label("review.submitted").check()
        lead.get_by_label("review.decided").check()
        lead.get_by_role("button", name="Subscribe").click()
        expect(lead.get_by_text("Its signing secret, shown only this once")).to_be_visible()
        assert lead.get_by_label("Secret").input_value().startswith("whsec_")
        lead.screenshot(path=shots / "subscriptions.png", full_page=True)
        lead.get_by_role("link", name="1", exact=True).click()
        lead.get_by_role("button", name="Send a test message").click()
        expect(lead.get_by_text("A test message is queued")).to_be_visible()
        lead.screenshot(path=shots / "subscription.png", full_page=True)
    finally:
        live_app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    for name in ("subscriptions.png", "subscription.png"):
        assert (shots / name).stat().st_size > 10_000
