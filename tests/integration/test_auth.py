"""Signing in and out: sessions that really end, throttled guessing, safe redirects."""

from sqlalchemy import func, select

from readiness.extensions import db
from readiness.models import AuditEntry

from ..factories import make_user


def test_sign_in_goes_to_the_page_asked_for(client, app):
    user = make_user(email="ana@example.com")
    db.session.commit()
    assert client.get("/my-work").headers["Location"] == "/login?next=/my-work"
    response = client.post("/login", data={"email": "ANA@example.com ",
                                           "password": "correct horse", "next": "/my-work"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/my-work"
    assert client.get("/my-work").status_code == 200
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.actor_id) == ("user:login", user.id)


def test_a_wrong_password_is_refused_with_a_message(client, app):
    make_user(email="ana@example.com")
    db.session.commit()
    response = client.post("/login", data={"email": "ana@example.com", "password": "nope"})
    assert response.status_code == 422
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/my-work").status_code == 302


def test_next_only_redirects_within_the_site(client, app):
    make_user(email="ana@example.com")
    db.session.commit()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example",
                   "javascript:alert(1)"):
        response = client.post("/login", data={"email": "ana@example.com",
                                               "password": "correct horse", "next": target})
        assert response.headers["Location"] == "/", target


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, login, client):
    login(make_user(email="ana@example.com"))
    stolen = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/my-work").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/my-work").status_code == 302
    assert thief.get("/my-work").status_code == 302  # the copied cookie no longer works


def test_sign_out_needs_a_post(app, login, client):
    login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.get("/my-work").status_code == 200


def test_failed_sign_ins_are_limited_per_address(client, app):
    make_user(email="ana@example.com")
    db.session.commit()
    for _ in range(10):
        assert client.post("/login", data={"email": "ana@example.com",
                                           "password": "guess"}).status_code == 422
    limited = client.post("/login", data={"email": "ana@example.com",
                                          "password": "correct horse"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "Too many failed sign-ins from your address. Try again in" in limited.get_data(
        as_text=True)
    assert client.get("/login").status_code == 200  # showing the page is not limited
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.post("/login", data={"email": "ana@example.com",
                                      "password": "correct horse"}).status_code == 302


def test_a_disabled_user_cannot_sign_in(client, app):
    user = make_user(email="ana@example.com")
    user.is_disabled = True
    db.session.commit()
    response = client.post("/login", data={"email": "ana@example.com",
                                           "password": "correct horse"})
    assert response.status_code == 403  # issue 19, defect 12: told what happened
    assert "This account is disabled: an admin can enable it again." in response.text
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "user:login")) == 0
    wrong = client.post("/login", data={"email": "ana@example.com", "password": "guess"})
    assert wrong.status_code == 422 and "disabled" not in wrong.text  # only with it


def test_an_ended_session_is_told_so_on_the_sign_in_page(client, app, login):
    """Issue 19, defect 12: signed out elsewhere (or the password changed), the next page
    explains; a visitor who never signed in gets the usual hint."""
    from readiness.commands.accounts import set_password

    user = login(make_user(email="ana@example.com"))
    assert client.get("/my-work").status_code == 200
    set_password(user, "a new password!", actor=None)
    db.session.commit()
    ended = client.get("/my-work", follow_redirects=True)
    assert "Your session ended: you were signed out elsewhere" in ended.text
    again = client.get("/my-work", follow_redirects=True)  # said once
    assert "Your session ended" not in again.text
    assert "Please sign in to see that page." in again.text


def test_the_session_cookie_is_http_only_and_same_site_lax(client, app):
    make_user(email="ana@example.com")
    db.session.commit()
    response = client.post("/login", data={"email": "ana@example.com",
                                           "password": "correct horse"})
    (cookie,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_person_changes_their_own_password(app, client, login):
    """Issue 19 ("also expected"): the current password first; other sessions end, this
    one goes on; tokens stay; a wrong current password counts as a failed sign-in."""
    from readiness.commands.tokens import create_token
    from readiness.models import LoginAttempt

    user = login(make_user(email="ana@example.com"))
    token = create_token(user, name="ci", actor=user)[1]
    db.session.commit()
    elsewhere = app.test_client()
    elsewhere.post("/login", data={"email": "ana@example.com", "password": "correct horse"})
    assert elsewhere.get("/my-work").status_code == 200

    profile = client.get("/profile/").text
    assert "<title>Your profile · readiness</title>" in profile
    main = profile[profile.index("<main"):]
    assert '<h2 id="password-title">Your password</h2>' in main
    assert 'autocomplete="current-password"' in main

    def change(current, new, repeated=None):
        return client.post("/profile/password", data={
            "current_password": current, "new_password": new,
            "repeat_password": new if repeated is None else repeated})

    wrong = change("not it", "a brand new password")
    assert wrong.status_code == 422 and "That is not your current password." in wrong.text
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    differ = change("correct horse", "a brand new password", "another one")
    assert differ.status_code == 422 and "The two new passwords differ." in differ.text
    short = change("correct horse", "short")
    assert short.status_code == 422 and "at least 8 characters" in short.text

    done = change("correct horse", "a brand new password")
    assert done.status_code == 302
    assert "Your password is changed." in client.get("/profile/").text  # still signed in
    assert elsewhere.get("/my-work").status_code == 302  # the other session ended
    assert client.get("/api/v1/services",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.post("/logout")
    assert client.post("/login", data={"email": "ana@example.com",
                                       "password": "a brand new password"}).status_code == 302
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user:update")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry.changes == {"password_changed": True}
    assert "brand new" not in str(entry.changes)
