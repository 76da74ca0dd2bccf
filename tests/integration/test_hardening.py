"""Odd input from outside (issue 18): each case is a clear answer, never a 500, and
nothing is stored that should not be."""

import re

import pytest
from sqlalchemy import func, select

from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.models import Fact, LoginAttempt, Service

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user


@pytest.mark.parametrize("next_target", ["/my-work\r\nSet-Cookie: x=1", "/my-work\n",
                                         "/\t/evil.example", "/my-work\x00"])
def test_a_control_character_in_next_goes_home(client, app, next_target):
    make_user(email="ana@example.com")
    db.session.commit()
    response = client.post("/login", data={"email": "ana@example.com",
                                           "password": "correct horse", "next": next_target})
    if "\x00" in next_target:  # refused before anything happens
        assert response.status_code == 400
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_showing_the_sign_in_page_is_never_limited_head_included(client, app):
    for _ in range(15):
        assert client.head("/login").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    assert client.get("/login").status_code == 200


def test_the_review_save_redirects_only_to_a_known_section(app, client, login):
    team = make_team()
    member = make_user(teams=[team])
    review = make_review(service=make_service(team=team),
                         checklist_version=make_checklist_version())
    login(member)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    for section, location in (("section-alerting", f"/reviews/{review.id}#section-alerting"),
                              ("x" * 100_000, f"/reviews/{review.id}"),
                              ("section-nope", f"/reviews/{review.id}")):
        response = client.post(f"/reviews/{review.id}/answers", data={
            "version": version, "section": section, "status-pager-load": "met",
            "evidence-pager-load": "Two pages a week."})
        assert response.status_code == 302
        assert response.headers["Location"] == location
        page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x1c"])
def test_one_line_fields_refuse_every_line_break(app, client, login, separator):
    team = make_team(slug="payments")
    login(make_user(teams=[team]))
    response = client.post("/services/new", data={
        "slug": "checkout", "name": f"Check{separator}out", "team": "payments", "tier": "2",
        "description": ""})
    assert response.status_code == 422
    assert "one line" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Service)) == 0


def test_a_lone_surrogate_is_refused_not_a_500(app, client):
    team = make_team(slug="payments")
    member = make_user(teams=[team])
    make_service(slug="checkout", team=team)
    _, token = create_token(member, name="monitor", actor=member)
    db.session.commit()
    body = ('[{"name": "pages_per_week", "value": 1, "observed_at": '
            '"2026-01-01T00:00:00Z", "source": "pd\\ud800"}]')
    response = client.post("/api/v1/services/checkout/facts", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "source"
    assert db.session.scalar(select(func.count()).select_from(Fact)) == 0
    # Form and URL text arrives as UTF-8 bytes, which cannot hold a lone surrogate
    # (Werkzeug reads broken bytes as U+FFFD); JSON escapes are the way one gets in.


def test_a_backslash_link_is_no_link_on_the_page_or_in_the_export(app, client, login):
    team = make_team()
    member = make_user(teams=[team])
    review = make_review(service=make_service(team=team),
                         checklist_version=make_checklist_version(), state="approved",
                         answers=[("pager-load", "met", "See [the board](/\\evil.example).")])
    login(member)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "<a rel=\"noopener noreferrer nofollow\">the board</a>" in page
    assert "evil.example" not in page
    export = client.get(f"/reviews/{review.id}/export.md").get_data(as_text=True)
    assert "[the board](#unsafe-link-removed)" in export


def test_sign_in_takes_as_long_for_an_unknown_email_as_for_a_wrong_password(make_app):
    """Timing must not tell whether an account exists (issue 18, finding 8): an unknown
    email pays for a password check too. A costly hash makes the difference plain."""
    import statistics
    import time

    app = make_app(PASSWORD_HASH_METHOD="pbkdf2:sha256:200000")
    with app.app_context():
        make_user(email="ana@example.com")
        db.session.commit()
    client = app.test_client()

    def median_time(email):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.post("/login", data={"email": email, "password": "wrong one"})
            times.append(time.perf_counter() - started)
            assert response.status_code == 422
        return statistics.median(times)

    known, unknown = median_time("ana@example.com"), median_time("nobody@example.com")
    assert unknown >= 0.5 * known, (known, unknown)
