"""A long review edit survives an expired CSRF token or an ended session: nothing typed is lost."""

import re
import time

import pytest
from sqlalchemy import func, select

from readiness.extensions import db
from readiness.models import Answer

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user

TYPED = {
    "status-pager-load": "met",
    "evidence-pager-load": "Two pages a week.\n\nSee <the> dashboard & the \"notes\".",
    "status-alert-runbooks": "not_applicable",
    "evidence-alert-runbooks": "No alerts of our own yet.",
    "link-alert-runbooks": "https://runbooks.example.com/a?b=1&c=2",
    "evidence-chaos-drill": "Planned for May.",
}


@pytest.fixture
def review(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        team = make_team()
        make_user(email="member@example.com", teams=[team])
        review = make_review(service=make_service(team=team),
                             checklist_version=make_checklist_version())
        db.session.commit()
        yield app, review.id


def sign_in(client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "member@example.com",
                                           "password": "correct horse", "csrf_token": token})
    assert response.status_code == 302


def form_token(client, review_id):
    page = client.get(f"/reviews/{review_id}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:3000]
    return match.group(1)


def assert_everything_typed_is_shown(page):
    assert "Two pages a week.\n\nSee &lt;the&gt; dashboard &amp; the &#34;notes&#34;." in page
    assert "No alerts of our own yet." in page
    assert 'value="https://runbooks.example.com/a?b=1&amp;c=2"' in page
    assert "Planned for May." in page
    assert re.search(r'name="status-pager-load" value="met" checked', page)
    assert re.search(r'name="status-alert-runbooks" value="not_applicable" checked', page)


@pytest.mark.slow  # waits for a token to expire
def test_an_expired_csrf_token_brings_the_form_back_filled_in(review):
    app, review_id = review
    client = app.test_client()
    sign_in(client)
    app.config["WTF_CSRF_TIME_LIMIT"] = 1  # tokens live a second instead of an hour
    old_token = form_token(client, review_id)
    time.sleep(2.1)

    response = client.post(f"/reviews/{review_id}/answers",
                           data={**TYPED, "action": "save", "csrf_token": old_token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "security token expired" in page
    assert_everything_typed_is_shown(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    # The refilled form carries a fresh token: saving again works.
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    saved = client.post(f"/reviews/{review_id}/answers",
                        data={**TYPED, "action": "save", "csrf_token": fresh})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 3


def test_an_ended_session_keeps_the_answers_through_signing_in_again(review):
    app, review_id = review
    client = app.test_client()
    sign_in(client)
    token = form_token(client, review_id)
    client.delete_cookie("session")  # the session ended (timeout, sign-out elsewhere)

    response = client.post(f"/reviews/{review_id}/answers",
                           data={**TYPED, "action": "save", "csrf_token": token})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Your session ended before you saved" in page
    carried = dict(re.findall(r'name="(carry-[^"]+)" value="([^"]*)"', page))
    assert "carry-csrf_token" not in carried
    assert len(carried) == len(TYPED) + 1  # and the action

    login_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fields = {name: value.replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
              .replace("&amp;", "&").replace("&#10;", "\n") for name, value in carried.items()}
    back = client.post("/login", data={**fields, "email": "member@example.com",
                                       "password": "correct horse", "csrf_token": login_token,
                                       "next": f"/reviews/{review_id}/answers",
                                       "carried_endpoint": "reviews.save"})
    assert back.status_code == 200
    page = back.get_data(as_text=True)
    assert "What you typed is below, not saved yet" in page
    assert_everything_typed_is_shown(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
