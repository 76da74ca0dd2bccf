"""The subscription pages: yours or everyone's, a new one with its secret shown once,
the deliveries with "send again", and who may see what."""

import pytest
from sqlalchemy import select

from readiness.commands import notifications as ops
from readiness.extensions import db
from readiness.models import Delivery, Subscription

from ..factories import make_team, make_user


@pytest.fixture
def people(app):
    team = make_team(slug="payments")
    member = make_user(email="member@example.com", teams=[team])
    other = make_user(email="other@example.com", teams=[make_team(slug="search")])
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    db.session.commit()
    return {"member": member, "other": other, "lead": lead}


@pytest.mark.config(WEBHOOK_ALLOW_PRIVATE=True)  # no DNS here for hooks.example.com
def test_a_member_subscribes_for_their_team_and_sees_the_secret_once(client, login, people):
    login(people["member"])
    page = client.get("/subscriptions/")
    assert page.status_code == 200 and "You subscribe to events of your own teams (payments)" \
        in page.text
    made = client.post("/subscriptions/", data={
        "kind": "webhook", "target": "https://hooks.example.com/r", "teams": "payments",
        "event_types": ["review.submitted", "review.decided"]})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    subscription = db.session.scalars(select(Subscription)).one()
    assert f'value="{subscription.secret}"' in made.text
    assert (subscription.teams, subscription.event_types) == (
        ["payments"], ["review.decided", "review.submitted"])
    assert subscription.secret not in client.get("/subscriptions/").text  # only once


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "webhook", "target": "http://127.0.0.1:9/x", "teams": "payments"},
     "loopback, private or link-local address"),
    ({"kind": "email", "target": "nobody", "teams": "payments"}, "is not an email address"),
    ({"kind": "webhook", "target": "", "teams": "payments"}, "Enter where to send."),
])
def test_a_refused_subscription_says_why_and_stores_nothing(client, login, people, data,
                                                            message):
    login(people["member"])
    response = client.post("/subscriptions/", data=data)
    assert response.status_code == 422
    assert message in response.text.replace("&#39;", "'")
    assert db.session.scalars(select(Subscription)).all() == []


def test_deliveries_are_listed_and_sent_again(client, login, people):
    subscription, _ = ops.subscribe(people["member"], kind="webhook", teams=["payments"],
                                    target="https://hooks.example.com/r",
                                    refusal=lambda _url: None)
    delivery = ops.send_test(subscription, "http://readiness.test")
    delivery.state, delivery.attempts, delivery.last_status = "failed", 8, 503
    db.session.commit()
    login(people["member"])
    page = client.get(f"/subscriptions/{subscription.id}")
    assert page.status_code == 200
    assert delivery.message_id in page.text and "503" in page.text
    again = client.post(f"/subscriptions/{subscription.id}/deliveries/{delivery.id}/again")
    assert again.status_code == 302
    db.session.refresh(delivery)
    assert (delivery.state, delivery.message_id) == ("pending", delivery.message_id)
    assert client.post(f"/subscriptions/{subscription.id}/test").status_code == 302
    assert len(db.session.scalars(select(Delivery)).all()) == 2


def test_a_member_may_not_subscribe_to_another_teams_events(client, login, people):
    login(people["member"])
    response = client.post("/subscriptions/", data={
        "kind": "email", "target": "me@example.com", "teams": "search"})
    assert response.status_code == 403
    assert "A team member subscribes to events of their own teams (payments)" in \
        response.text
    assert db.session.scalars(select(Subscription)).all() == []
    made = client.post("/subscriptions/", data={"kind": "email", "target": "me@example.com"})
    assert made.status_code == 302  # no team named: all of theirs
    assert db.session.scalars(select(Subscription.teams)).one() == ["payments"]


def test_others_subscriptions_are_not_shown_to_members_but_to_ops_leads(client, login,
                                                                        people):
    subscription, _ = ops.subscribe(people["member"], kind="slack", teams=["payments"],
                                    target="https://hooks.slack.example/T1",
                                    refusal=lambda _url: None)
    db.session.commit()
    login(people["other"])
    assert "hooks.slack.example" not in client.get("/subscriptions/").text
    assert client.get(f"/subscriptions/{subscription.id}").status_code == 403
    assert client.post(f"/subscriptions/{subscription.id}/test").status_code == 403
    login(people["lead"])
    assert "hooks.slack.example" in client.get("/subscriptions/").text
    assert client.get(f"/subscriptions/{subscription.id}").status_code == 200
