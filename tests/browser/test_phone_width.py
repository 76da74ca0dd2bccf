"""At 375 x 812 (a phone), no page of the demo scrolls sideways, for any role (issue 19,
defects 3 and 10): long words wrap, tables scroll inside their own box.

The pages are every GET route of the URL map that a person opens, filled with the demo's
own services, reviews, users and teams, plus a service and a review holding a
120-character name, an unbroken 300-character word and a long link.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from readiness import create_app
from readiness.cli.demo import load_demo
from readiness.commands import notifications
from readiness.commands.campaigns import create_campaign
from readiness.commands.reviews import AnswerInput, save_answers
from readiness.commands.waivers import request_waiver
from readiness.domain import checklists
from readiness.domain.campaigns import CampaignFilter, CampaignInput
from readiness.extensions import db
from readiness.models import Review, Service, Team, User, utcnow
from readiness.queries.checklists import current_versions

from ..factories import make_review, make_service
from .conftest import sign_in

ROLES = ("team@example.com", "consultant@example.com", "lead@example.com",
         "admin@example.com")
LONG_NAME = ("Settlementreconciliation" * 5)[:120]  # one unbroken 120-character word
LONG_WORD = "x" * 300
LONG_LINK = "https://dashboards.example.com/d/" + "a1b2c3d4" * 30


def _rereview():
    """The demo's re-review in progress (checkout, carried answers)."""
    return db.session.scalar(select(Review.id).where(Review.previous_review_id.is_not(None),
                                                     Review.state == "draft"))


def page_paths(app, ids):
    """Every GET page of the URL map, its parameters filled from the demo."""
    fills = {"slug": ids["slug"], "review_id": ids["review"], "user_id": ids["user"],
             "team_id": ids["team"], "version_id": ids["version"],
             "subscription_id": ids["subscription"], "campaign_id": ids["campaign"]}
    # Downloads, and text for machines (the OpenAPI document, Prometheus' /metrics).
    skipped = {"static", "home.favicon", "reviews.export", "services.export_csv", "api.openapi",
               "metrics.scrape"}
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in skipped or \
                rule.rule.startswith("/api/"):
            continue
        values = {name: fills[name] for name in rule.arguments}
        if rule.endpoint == "teams.show":
            values["slug"] = ids["team_slug"]
        paths.append(rule.rule if not rule.arguments else app.url_map.bind("localhost").build(
            rule.endpoint, values))
    return sorted(paths)


@pytest.fixture
def long_texts(live_app):
    with live_app.app_context():
        load_demo()
        payments = db.session.scalar(select(Team).where(Team.slug == "payments"))
        service = make_service(slug="long-names", name=LONG_NAME, team=payments)
        service.description = f"{LONG_WORD} and {LONG_LINK}"
        service.runbook_url = LONG_LINK
        launch = next(v for v in current_versions(("launch",))
                      if v.checklist_id == "launch-readiness")
        review = make_review(service=service, checklist_version=launch)
        member = db.session.scalar(select(User).where(User.email == "team@example.com"))
        (_, first_item), *_ = checklists.items_of(launch.content)
        save_answers(review, {first_item["id"]: AnswerInput(
            "met", f"{LONG_WORD}\n\n`{LONG_WORD}`\n\n```\n{LONG_WORD}\n```\n{LONG_LINK}",
            LONG_LINK)}, actor=member)
        (_, second_item) = list(checklists.items_of(launch.content))[1]
        request_waiver(review, actor=member, item_id=second_item["id"],
                       reason=f"{LONG_WORD} {LONG_LINK}", control=LONG_WORD,
                       expires_on=(utcnow().date() + timedelta(days=20)).isoformat())
        lead = db.session.scalar(select(User).where(User.email == "lead@example.com"))
        campaign, _ = create_campaign(CampaignInput(
            LONG_NAME, f"{LONG_WORD} {LONG_LINK}", "launch-readiness", 1,
            (utcnow() + timedelta(days=9)).date(), CampaignFilter()), actor=lead)
        subscription, _ = notifications.subscribe(
            member, kind="webhook", target=LONG_LINK, refusal=lambda _url: None)
        delivery = notifications.send_test(subscription, "http://readiness.test")
        delivery.state, delivery.last_status = "failed", 500
        delivery.last_error = f"HTTP 500: {LONG_WORD}"
        db.session.commit()
        demo_service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
        return {
            "paths": page_paths(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                            "AUTO_MIGRATE": False, "SECRET_KEY": "x"}),
                                {"slug": "long-names", "review": review.id,
                                 "user": member.id, "team": payments.id,
                                 "version": launch.id, "subscription": subscription.id,
                                 "campaign": campaign.id, "team_slug": payments.slug}),
            "more": ["/services/ledger", f"/reviews/{_approved(demo_service.id)}",
                     "/services/ledger/hand-back", "/services/search-api",
                     f"/reviews/{_rereview()}", f"/reviews/{_rereview()}/changes",
                     "/services/notify", "/services/status-page", "/services/checkout/hand-off",
                     "/teams/search", "/?as_of=2026-06-01"],
        }


def _approved(service_id):
    return db.session.scalar(select(Review.id).where(Review.service_id == service_id,
                                                     Review.state == "approved"))


def test_no_page_scrolls_sideways_on_a_phone_for_any_role(browser, live_server, long_texts):
    widest = {}
    for email in ROLES:
        context = browser.new_context(viewport={"width": 375, "height": 812},
                                      device_scale_factor=1, is_mobile=True, has_touch=True)
        context.set_default_timeout(10_000)
        page = context.new_page()
        sign_in(page, live_server, email, "demo")
        for path in long_texts["paths"] + long_texts["more"]:
            response = page.goto(f"{live_server}{path}")
            assert response.status < 500, (email, path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 375:
                widest[(email, path)] = width
            if path == "/":  # the charts' axis labels stay readable (defect 13)
                smallest = page.evaluate("Math.min(...[...document.querySelectorAll("
                                         "'.chart text.label')].map("
                                         "t => t.getBoundingClientRect().height))")
                assert smallest >= 9, (email, smallest)
        context.close()
    anonymous = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    page = anonymous.new_page()
    page.goto(f"{live_server}/login")
    if page.evaluate("document.documentElement.scrollWidth") > 375:
        widest[("anonymous", "/login")] = page.evaluate("document.documentElement.scrollWidth")
    anonymous.close()
    assert widest == {}
