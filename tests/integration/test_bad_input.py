"""Malformed input gets a clear answer, never a 500, and changes nothing."""

import pytest
from sqlalchemy import func, select

from readiness.extensions import db
from readiness.models import Answer, Decision, Service

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user


@pytest.fixture
def member(app, login):
    team = make_team(slug="payments")
    user = make_user(email="member@example.com", teams=[team])
    review = make_review(service=make_service(slug="svc", team=team),
                         checklist_version=make_checklist_version())
    db.session.commit()
    login(user)
    return {"user": user, "review": review, "team": team}


@pytest.mark.parametrize("url", [
    "/reviews/99999999999999999999999999", "/reviews/2147483648", "/reviews/-1",
    "/reviews/2147483648/export.md", "/admin/users/2147483648/edit", "/services/%00",
])
def test_out_of_range_ids_are_not_found(client, member, url):
    assert client.get(url).status_code in (400, 404)


def test_an_out_of_range_checklist_version_is_a_message(client, member):
    response = client.post("/services/svc/reviews",
                           data={"checklist_version_id": "99999999999999999999"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Choose a checklist to review against." in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["²", "①", "٣", "1e9", "-1", "0", "99999999999999999999"])
def test_odd_page_numbers_never_crash_the_service_list(client, member, page):
    assert client.get("/services/", query_string={"page": page}).status_code == 200


def test_nul_characters_are_refused_with_a_message_and_nothing_is_saved(client, member):
    review_id = member["review"].id
    response = client.post(f"/reviews/{review_id}/answers",
                           data={"status-pager-load": "met", "evidence-pager-load": "a\x00b"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert client.get("/services/", query_string={"q": "a\x00b"}).status_code == 400
    second_value = client.get("/services/", query_string=[("q", "ok"), ("q", "a\x00b")])
    assert second_value.status_code == 400


@pytest.mark.parametrize("name", ["Svc\n\n## Decisions", "Tab\there", "Bell\x07"])
def test_names_are_one_line(client, member, name):
    response = client.post("/services/new", data={"slug": "fresh", "name": name,
                                                  "team": "payments", "tier": "2"})
    assert response.status_code == 422
    assert "one line of text" in response.get_data(as_text=True)
    assert db.session.scalar(select(Service).where(Service.slug == "fresh")) is None


@pytest.mark.parametrize("link", [
    "https://a.example/><img/src=x/onerror=alert(1)>",
    'https://a.example/"onmouseover="alert(1)',
    "https://a.example/`x`", "https://a.example/\\x",
])
def test_links_with_characters_that_break_out_are_refused(client, member, link):
    response = client.post(f"/reviews/{member['review'].id}/answers",
                           data={"status-alert-runbooks": "met", "link-alert-runbooks": link})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


@pytest.mark.parametrize("next_url", ["/x", "/", "/reviews/abc/answers",
                                      "/reviews/99999999999999/answers", "//evil.example/",
                                      "/services/svc/edit"])
def test_a_forged_carry_through_sign_in_never_crashes(app, member, next_url):
    client = app.test_client()
    response = client.post("/login", data={
        "email": "member@example.com", "password": "correct horse", "next": next_url,
        "carried_endpoint": "reviews.save", "carry-evidence-pager-load": "typed"})
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert not response.headers["Location"].startswith("//")


def test_an_ended_session_on_a_plain_post_returns_to_the_page_afterwards(app, member):
    client = app.test_client()  # not signed in
    review_id = member["review"].id
    response = client.post(f"/reviews/{review_id}/withdraw",
                           headers={"Referer": f"http://localhost/reviews/{review_id}"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/reviews/{review_id}"
    foreign = client.post(f"/reviews/{review_id}/withdraw",
                          headers={"Referer": "https://evil.example/x"})
    assert foreign.headers["Location"] == "/login?next=/"


def test_item_comments_on_unknown_items_are_dropped(app, client, login):
    consultant = make_user(roles=("consultant",))
    review = make_review(state="submitted", answers=[("pager-load", "met", "ok")])
    db.session.commit()
    login(consultant)
    client.post(f"/reviews/{review.id}/decision", data={
        "verdict": "request_changes", "comment": "More",
        "item-comment-pager-load": "Which?", "item-comment-NOT-AN-ITEM": "x"})
    decision = db.session.scalars(select(Decision)).one()
    assert decision.item_comments == {"pager-load": "Which?"}
