"""Odd input from outside (issue 18): each case is a clear answer, never a 500, and
nothing is stored that should not be."""

import re
import runpy
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text

from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.models import ApiToken, Fact, LoginAttempt, Service

from ..conftest import PROJECT_ROOT
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
    for section, location in (("section-alerting",
                               f"/reviews/{review.id}?saved=section-alerting&changed=1"
                               "#saved-alerting"),
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


def token_holder():
    """A team with a service and a member holding a never-used token."""
    team = make_team(slug="payments")
    member = make_user(email="member@example.com", teams=[team])
    make_service(slug="checkout", team=team)
    token = create_token(member, name="ci", actor=member)[1]
    db.session.commit()
    return member, {"Authorization": f"Bearer {token}"}


def test_reads_never_wait_for_the_write_lock(app, client):
    """Finding 1: with another writer holding the lock the token's last-use note needs
    (SQLite's write lock; the token's row on PostgreSQL) and the default busy timeout,
    token-authenticated reads answer at once; the note is skipped."""
    _, headers = token_holder()
    with db.engine.connect() as other:
        other.execute(text("UPDATE api_token SET name = name"))  # holds the lock
        for path in ("/api/v1/services/checkout/gate", "/api/v1/services",
                     "/api/v1/services/checkout"):
            started = time.monotonic()
            response = client.get(path, headers=headers)
            assert response.status_code in (200, 409), response.get_data(as_text=True)
            assert time.monotonic() - started < 1, path
        other.rollback()
    assert db.session.scalar(select(ApiToken.last_used_at)) is None
    client.get("/api/v1/services", headers=headers)
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_the_busy_timeout_is_well_inside_the_servers_timeout(app):
    """Finding 1: a write waits for the lock at most the busy timeout, and then answers
    503; gunicorn's worker timeout (gunicorn.conf.py, read by the served command) is far
    longer, so its bare 500 never comes first."""
    served = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert app.config["SQLITE_BUSY_TIMEOUT_MS"] * 2 <= served["timeout"] * 1000


@contextmanager
def read_only(engine):
    """While it lasts, every new connection of `engine` takes no changes, as a standby
    or a read-only file would: the database refuses each write itself."""
    def take_no_changes(dbapi_connection, _record):
        if engine.dialect.name == "sqlite":
            dbapi_connection.execute("PRAGMA query_only=ON")
        else:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
    event.listen(engine, "connect", take_no_changes)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", take_no_changes)
        engine.dispose()


def test_a_read_only_database_keeps_reads_and_answers_writes_with_a_clear_503(
        app, client, login):
    """Finding 6: reads (pages and token-authenticated API calls) keep working; writes
    get a 503 problem or page that says so, and a review edit keeps its text."""
    member, headers = token_holder()
    review = make_review(service=db.session.scalar(select(Service)),
                         checklist_version=make_checklist_version())
    login(member)
    with read_only(db.engine):
        assert client.get("/api/v1/services", headers=headers).status_code == 200
        gate = client.get("/api/v1/services/checkout/gate", headers=headers)
        assert gate.status_code == 409
        assert client.get("/services/checkout").status_code == 200
        page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)

        pushed = client.post("/api/v1/services/checkout/facts", headers=headers, json={
            "name": "pages_per_week", "value": 1, "observed_at": "2026-11-20T00:00:00Z"})
        assert pushed.status_code == 503 and pushed.headers["Retry-After"]
        assert pushed.mimetype == "application/problem+json"
        assert "takes no changes" in pushed.get_json()["detail"]

        saved = client.post(f"/reviews/{review.id}/answers", data={
            "version": version, "section": "section-alerting", "status-pager-load": "met",
            "evidence-pager-load": "Kept through the outage."})
        assert saved.status_code == 503
        assert "Kept through the outage." in saved.get_data(as_text=True)
        assert "takes no changes" in saved.get_data(as_text=True)

        signed_in = client.post("/login", data={"email": "member@example.com",
                                                "password": "correct horse"})
        assert signed_in.status_code == 503 and "takes no changes" in signed_in.get_data(
            as_text=True)


@pytest.mark.parametrize(("path", "kind"), [
    ("/services?q=", "text/html"), ("/api/v1/services?team=", "application/problem+json")])
def test_a_long_url_is_the_apps_own_414(client, app, path, kind):
    """Finding 14: the app refuses a URL past MAX_URL itself, with its headers (the page or
    the problem document), before gunicorn's bare 414 at 8,190 bytes."""
    response = client.get(path + "x" * 5000)
    assert response.status_code == 414
    assert response.mimetype == kind
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.get(path + "x" * 3000).status_code != 414


@pytest.mark.parametrize(("observed_at", "status"), [
    ("2026-11-20t00:00:00z", 200), ("2026-11-20T01:00:00+01:00", 200),
    ("20261120T000000Z", 422), ("2026-W47-5T00:00:00Z", 422), ("2026-11-20T00Z", 422),
    ("2026-11-20T00:00:00,5Z", 422), ("2026-11-20T00:00:00+05:30:15", 422)])
def test_the_api_takes_exactly_rfc_3339(app, client, observed_at, status):
    """Finding 10: observed_at is RFC 3339 (domain.inputs.parse_rfc3339), no other form."""
    _, headers = token_holder()
    response = client.post("/api/v1/services/checkout/facts", headers=headers, json={
        "name": "pages_per_week", "value": 1, "observed_at": observed_at})
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 422:
        assert response.get_json()["errors"][0]["field"] == "observed_at"
        assert "RFC 3339" in response.get_json()["errors"][0]["message"]
    stored = db.session.scalar(select(Fact.observed_at))
    assert (stored is not None) == (status == 200)


def test_a_new_password_keeps_api_tokens_and_disabling_ends_them(app, client):
    """Decided for issue 18 (docs/reviews.md): tokens are credentials of their own,
    revoked one by one on the profile; a password change ends sessions, not tokens;
    disabling the user ends both."""
    from readiness.commands.accounts import set_password, update_user

    member, headers = token_holder()
    admin = make_user(email="admin@example.com", roles=("admin",))
    set_password(member, "a brand new password", actor=admin)
    db.session.commit()
    assert client.get("/api/v1/services", headers=headers).status_code == 200
    update_user(member, actor=admin, name=member.name, roles=(),
                team_slugs=[t.slug for t in member.teams], is_disabled=True)
    db.session.commit()
    refused = client.get("/api/v1/services", headers=headers)
    assert refused.status_code == 401 and "disabled" in refused.get_json()["detail"]


@pytest.mark.sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=2000)
def test_after_a_write_request_commits_it_only_reads_and_never_queues_again(app):
    """What a save shows after its commit (a page, a redirect's data) must not wait for
    the write lock: had it failed there, the person would be told that nothing was
    saved, and would save again (a counter of 50 writers once ended at 51)."""
    from readiness.models import Team

    make_team()
    db.session.commit()
    with app.test_request_context("/reviews/1/answers", method="POST"):
        db.session.remove()
        db.session.scalars(select(Team)).all()  # BEGIN IMMEDIATE: a write request
        db.session.commit()
        with db.engine.connect() as other:
            other.execute(text("UPDATE team SET name = name"))  # holds the write lock
            started = time.monotonic()
            assert len(db.session.scalars(select(Team)).all()) == 1
            assert time.monotonic() - started < 1
            other.rollback()
        db.session.remove()
