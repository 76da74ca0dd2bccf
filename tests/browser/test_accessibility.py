"""axe-core over every page of the demo: no serious or critical violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from readiness.cli.demo import load_demo
from readiness.extensions import db
from readiness.models import Review, Service, User

from .conftest import sign_in

BLOCKING = {"serious", "critical"}


@pytest.fixture
def demo_pages(live_app):
    with live_app.app_context():
        load_demo()
        db.session.commit()
        review_ids = db.session.scalars(select(Review.id).order_by(Review.id)).all()
        user_id = db.session.scalar(select(User.id).where(User.email == "team@example.com"))
        slugs = db.session.scalars(select(Service.slug)).all()
    pages = ["/login", "/", "/handback-candidates", "/expiring-approvals", "/my-work",
             "/services/", "/services/?state=ops_managed",
             "/services/new", "/services/checkout/edit", "/services/ledger/hand-back",
             "/profile/", "/admin/users", "/admin/users/new", f"/admin/users/{user_id}/edit",
             "/admin/teams", "/admin/teams/new", "/admin/teams/1/edit", "/admin/checklists",
             "/no-such-page"]
    pages += [f"/services/{slug}" for slug in slugs]
    pages += [f"/reviews/{review_id}" for review_id in review_ids]
    return pages


def violations(page):
    results = Axe().run(page)
    return [(v["id"], v["impact"], len(v["nodes"]), v["help"])
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def test_no_serious_or_critical_violations_on_any_page(live_server, demo_pages, browser):
    # axe is injected as a script, which the strict CSP would otherwise block.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    found = {}
    try:
        found["/login (signed out)"] = (page.goto(f"{live_server}/login"), violations(page))[1]
        # Every role's view: the admin and ops lead see the most actions.
        for email in ("admin@example.com", "lead@example.com", "consultant@example.com",
                      "team@example.com"):
            context.clear_cookies()
            sign_in(page, live_server, email, "demo")
            for path in demo_pages:
                page.goto(f"{live_server}{path}")
                found[f"{path} ({email})"] = violations(page)
    finally:
        context.close()
    problems = {path: v for path, v in found.items() if v}
    assert problems == {}
    assert len(found) > 4 * 30


def test_the_audit_finds_violations_when_there_are_some(browser):
    """The check above can fail: an unlabelled field and an image without text are caught."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png">'
                     '<input type="text"></main></html>')
    found = {rule for rule, *_ in violations(page)}
    context.close()
    assert {"image-alt", "label"} <= found
