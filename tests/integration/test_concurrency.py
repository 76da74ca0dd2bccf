"""Nothing is overwritten silently: a stale save is refused and shows the other change,
and many writers at once lose no update."""

import html
import re
import threading

import pytest
import requests
from sqlalchemy import func, select

from readiness.extensions import db
from readiness.models import Answer, Review

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user

pytestmark = pytest.mark.slow  # left out of the quick run (README)


def test_a_stale_save_is_refused_and_shows_the_other_persons_change(app, login, client):
    team = make_team()
    make_user(email="ana@example.com", name="Ana", teams=[team])
    bo = make_user(email="bo@example.com", name="Bo", teams=[team])
    review = make_review(service=make_service(team=team),
                         checklist_version=make_checklist_version())
    db.session.commit()
    login(bo)
    seen = int(re.search(r'name="version" value="(\d+)"',
                         client.get(f"/reviews/{review.id}").get_data(as_text=True)).group(1))

    ana = app.test_client()
    ana.post("/login", data={"email": "ana@example.com", "password": "correct horse"})
    assert ana.post(f"/reviews/{review.id}/answers", data={
        "version": seen, "status-pager-load": "met",
        "evidence-pager-load": "Ana: two pages a week."}).status_code == 302

    stale = client.post(f"/reviews/{review.id}/answers", data={
        "version": seen, "status-pager-load": "not_met",
        "evidence-pager-load": "Bo: nine pages a week."})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone else saved this review while you were editing it" in page
    assert "Bo: nine pages a week." in page  # Bo's typing is kept
    assert "Saved meanwhile by Ana" in page and "Ana: two pages a week." in page
    answer = db.session.scalar(select(Answer))
    assert answer.evidence == "Ana: two pages a week." and answer.status == "met"

    current = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    assert current > seen
    again = client.post(f"/reviews/{review.id}/answers", data={
        "version": current, "status-pager-load": "not_met",
        "evidence-pager-load": "Bo: nine pages a week."})
    assert again.status_code == 302
    assert db.session.scalar(select(Answer.evidence)) == "Bo: nine pages a week."


def test_a_stale_save_notes_only_the_answers_another_person_changed(app, login, client):
    """Bo saved multi-line answers (browsers post CRLF), then Ana changed one of them: Bo's
    stale save notes only Ana's answer, not his own untouched ones."""
    team = make_team()
    make_user(email="ana@example.com", name="Ana", teams=[team])
    bo = make_user(email="bo@example.com", name="Bo", teams=[team])
    review = make_review(service=make_service(team=team),
                         checklist_version=make_checklist_version())
    db.session.commit()
    login(bo)
    typed = {"status-pager-load": "met", "evidence-pager-load": "Two pages.\r\nSee the board.",
             "status-alert-runbooks": "met", "evidence-alert-runbooks": "Linked.\r\nAll of them.",
             "link-alert-runbooks": "https://example.com/runbooks"}
    version = int(re.search(r'name="version" value="(\d+)"',
                            client.get(f"/reviews/{review.id}").get_data(as_text=True)).group(1))
    saved = client.post(f"/reviews/{review.id}/answers", data={"version": version, **typed})
    assert saved.status_code == 302
    seen = int(re.search(r'name="version" value="(\d+)"',
                         client.get(f"/reviews/{review.id}").get_data(as_text=True)).group(1))

    ana = app.test_client()
    ana.post("/login", data={"email": "ana@example.com", "password": "correct horse"})
    assert ana.post(f"/reviews/{review.id}/answers", data={
        "version": seen, "status-pager-load": "not_met",
        "evidence-pager-load": "Ana: nine pages."}).status_code == 302

    stale = client.post(f"/reviews/{review.id}/answers", data={
        "version": seen, **typed, "evidence-alert-runbooks": "Linked.\r\nAll of them!"})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert page.count("Saved meanwhile by") == 1
    assert "Saved meanwhile by Ana" in page and "Ana: nine pages." in page


WRITERS = 50


@pytest.fixture
def shared_review(live_app):
    with live_app.app_context():
        team = make_team()
        for n in range(WRITERS):
            make_user(email=f"writer{n}@example.com", teams=[team])
        review = make_review(service=make_service(team=team),
                             checklist_version=make_checklist_version(),
                             answers=[("pager-load", "met", "0")])
        db.session.commit()
        return review.id


def sign_in(session, base, email):
    """Sign in, again after a 503 (busy: try again), as a person would."""
    for _ in range(20):
        page = session.get(f"{base}/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = session.post(f"{base}/login", allow_redirects=False, data={
            "email": email, "password": "correct horse", "csrf_token": token})
        if response.status_code != 503:
            break
    assert response.status_code == 302


def increment(base, review_id, n, outcomes):
    """Read the counter kept in the evidence, save it plus one; retry when refused."""
    session = requests.Session()
    sign_in(session, base, f"writer{n}@example.com")
    conflicts = 0
    for _ in range(200):
        page = session.get(f"{base}/reviews/{review_id}").text
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        counter = int(html.unescape(re.search(
            r'name="evidence-pager-load" rows="4">([^<]*)</textarea>', page).group(1)))
        response = session.post(f"{base}/reviews/{review_id}/answers", allow_redirects=False,
                                data={"version": version, "csrf_token": token,
                                      "status-pager-load": "met",
                                      "evidence-pager-load": str(counter + 1)})
        if response.status_code == 302:
            outcomes.append(("saved", conflicts))
            return
        assert response.status_code in (409, 503), response.status_code
        conflicts += 1
    outcomes.append(("gave up", conflicts))


def test_fifty_concurrent_writers_on_one_review_lose_no_update(live_server, live_app,
                                                              shared_review):
    outcomes = []
    writers = [threading.Thread(target=increment, args=(live_server, shared_review, n,
                                                        outcomes))
               for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [kind for kind, _ in outcomes] == ["saved"] * WRITERS
    with live_app.app_context():
        review = db.session.get(Review, shared_review)
        (answer,) = review.answers
        assert answer.evidence == str(WRITERS)  # every increment counted: none lost
    refusals = sum(conflicts for _, conflicts in outcomes)
    assert refusals > 0, "the writers never overlapped: the test proved nothing"


def post_facts(base, token, facts, barrier, outcomes):
    session = requests.Session()
    barrier.wait()
    response = session.post(f"{base}/api/v1/services/ingest/facts", json=facts,
                            headers={"Authorization": f"Bearer {token}"})
    outcomes.append(response.status_code)


def test_posts_of_the_same_facts_in_opposite_orders_at_once_all_succeed(live_server,
                                                                        live_app):
    """Two monitors pushing overlapping readings at the same moment, in opposite orders:
    each row waits for the other transaction, and had they locked rows in their own
    order, PostgreSQL would break the deadlock by failing one of them."""
    from datetime import timedelta

    from readiness.commands.tokens import create_token
    from readiness.models import Fact, utcnow

    with live_app.app_context():
        team = make_team()
        make_service(slug="ingest", team=team)
        user = make_user(email="monitor@example.com", teams=[team])
        token = create_token(user, name="monitor", actor=user)[1]
        db.session.commit()
    names = [f"metric_{n:03}" for n in range(300)]
    outcomes = []
    for round_ in range(4):
        at = (utcnow() - timedelta(minutes=round_)).isoformat()
        facts = [{"name": name, "value": 1, "observed_at": at} for name in names]
        barrier = threading.Barrier(2)
        posters = [threading.Thread(target=post_facts,
                                    args=(live_server, token, order, barrier, outcomes))
                   for order in (facts, facts[::-1])]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(timeout=60)
    assert outcomes == [200] * 8
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Fact)) == 4 * len(names)
