"""Browser tests: Playwright drives Debian's Chromium against the app on a free port."""

import os
from pathlib import Path

import pytest

from ..conftest import is_ci

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "needs Playwright: pip install -r requirements-dev.txt"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"needs Chromium at {CHROMIUM}: apt-get install -y chromium"
    if reason:
        if is_ci():
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Make pages in fresh browser contexts (separate cookies: separate people)."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, base, email, password="correct horse"):  # noqa: S107
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go: a temporary folder, or docs/screenshots/ with
    UPDATE_SCREENSHOTS=1."""
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def demo(live_app):
    """The demo loaded into the live app; the ids of the reviews the journeys open."""
    from sqlalchemy import select

    from readiness.cli.demo import load_demo
    from readiness.extensions import db
    from readiness.models import Review, Service

    with live_app.app_context():
        load_demo()
        db.session.commit()

        def review_of(slug, state):
            return db.session.scalar(select(Review.id).join(Service).where(
                Service.slug == slug, Review.state == state))

        return {"draft": review_of("refunds", "draft"),
                "submitted": review_of("autocomplete", "submitted"),
                "refunds": review_of("refunds", "draft"),
                "rereview": review_of("checkout", "draft")}
