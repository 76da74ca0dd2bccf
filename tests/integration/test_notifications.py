"""Notifications to real receivers on loopback: Standard Webhooks signatures checked by
the `standardwebhooks` package, Slack's shape, order and retries, 410 and 429, and the
address guard."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from readiness.cli.notifications import send
from readiness.commands import notifications as ops
from readiness.extensions import db
from readiness.models import AuditEntry, Delivery, Subscription, utcnow

from ..factories import make_checklist_version, make_service, make_team, make_user
from .test_reviews import DONE
from .test_serving import free_port

pytestmark = pytest.mark.config(WEBHOOK_ALLOW_PRIVATE=True)


class Receiver:
    """An HTTP server on a free loopback port that keeps every request and answers with
    the next of `statuses` (then 200)."""

    def __init__(self, statuses=(), headers=None):
        self.requests, self.statuses = [], list(statuses)
        self.headers = headers or {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                for name, value in receiver.headers.get(status, {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses, headers=None):
        made.append(Receiver(statuses, headers))
        return made[-1]

    yield make
    for r in made:
        r.close()


def subscribe(url, **filters):
    subscription, secret = ops.subscribe(None, target=url, refusal=lambda _url: None,
                                         **{"kind": "webhook", **filters})
    db.session.commit()
    return subscription, secret


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


def work(clock=utcnow):
    """One round of the worker: the record into deliveries, then send what is due."""
    ops.fan_out("http://readiness.test")
    db.session.commit()
    return ops.deliver_due(send, clock=clock)


def test_a_review_submitted_on_the_web_reaches_a_webhook_and_slack(client, login, receiver):
    team = make_team(slug="payments")
    member = make_user(email="member@example.com", teams=[team])
    make_service(slug="checkout", name="Checkout", team=team, state="development")
    version = make_checklist_version()
    db.session.commit()
    hook, slack = receiver(), receiver()
    _, secret = subscribe(hook.url, event_types=["review.submitted"])
    subscribe(slack.url, kind="slack", teams=["payments"])
    login(member)
    started = client.post("/services/checkout/reviews",
                          data={"checklist_version_id": version.id})
    review_id = int(started.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/reviews/{review_id}/answers",
                       data={**DONE, "action": "submit"}).status_code == 302
    work()
    assert len(hook.requests) == 1  # only review.submitted
    headers, body = hook.requests[0]
    payload = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["type"] == "review.submitted"
    data = payload["data"]
    assert data["service"] == {"slug": "checkout", "name": "Checkout", "team": "payments",
                               "tier": 2}
    assert data["links"]["review"] == f"http://readiness.test/reviews/{review_id}"
    assert data["actor"]["email"] == "member@example.com"
    # Slack: every event of the team (review started, submitted), as Block Kit.
    kinds = []
    for headers, body in slack.requests:
        message = json.loads(body)
        assert "webhook-signature" not in {k.lower() for k in headers}
        assert message["text"]
        section, context = message["blocks"]
        assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
        assert len(section["text"]["text"]) <= 3000
        assert section["accessory"]["type"] == "button"
        assert section["accessory"]["url"].startswith("http://readiness.test/")
        assert context["type"] == "context"
        kinds.append(context["elements"][0]["text"].split("`")[1])
    assert kinds == ["review.started", "review.saved", "review.submitted"] or \
        kinds == ["review.started", "review.submitted"]


def test_a_failing_receiver_gets_the_same_message_again_and_the_rest_in_order(app, receiver):
    hook = receiver(500, 500, 500)
    _, secret = subscribe(hook.url)
    teams = [make_team(slug=f"team-{i}") for i in range(3)]  # three events: team.created
    db.session.commit()
    clock = Clock()
    for _ in range(10):
        work(clock)
        clock.now += timedelta(hours=3)  # past every wait so far
    bodies = [json.loads(body) for _, body in hook.requests]
    ids = [headers["webhook-id"] for headers, _ in hook.requests]
    assert len(ids) == 6  # the first event four times, then the two others
    assert len(set(ids[:4])) == 1 and len(set(ids)) == 3
    assert [b["data"]["changes"]["slug"] for b in bodies] == [
        "team-0", "team-0", "team-0", "team-0", "team-1", "team-2"]
    for headers, body in hook.requests:
        Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert {t.slug for t in teams} == {"team-0", "team-1", "team-2"}


def test_retries_wait_as_designed_and_then_give_up(app, receiver):
    hook = receiver(*[503] * 8)
    subscribe(hook.url)
    make_team(slug="one")
    db.session.commit()
    clock = Clock()
    start = clock.now
    work(clock)
    waits = []
    delivery = db.session.scalars(select(Delivery)).one()
    while delivery.state == "pending":
        waits.append(delivery.next_attempt_at - clock.now)
        clock.now = delivery.next_attempt_at
        work(clock)
        db.session.refresh(delivery)
    assert waits == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
                     timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
                     timedelta(hours=24)]
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 8, 503)
    assert len(hook.requests) == 8 and clock.now > start


def test_gone_disables_the_subscription_and_too_many_waits_for_retry_after(app, receiver):
    gone, busy = receiver(410), receiver(429, headers={429: {"Retry-After": "120"}})
    first, _ = subscribe(gone.url)
    subscribe(busy.url)
    make_team(slug="one")
    make_team(slug="two")
    db.session.commit()
    clock = Clock()
    work(clock)
    db.session.refresh(first)
    assert first.disabled_at is not None and "410" in first.disabled_reason
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "subscription:disable")).all() == ["subscription:disable"]
    assert len(gone.requests) == 1  # the second event is not sent to it
    waiting = db.session.scalars(select(Delivery).where(Delivery.state == "pending")
                                 .order_by(Delivery.id)).first()
    assert waiting.next_attempt_at - clock.now == timedelta(seconds=120)
    clock.now += timedelta(seconds=121)
    work(clock)
    types = [json.loads(body)["type"] for _, body in busy.requests]
    # The first event (429), then again, the second, and the disabling of the other.
    assert types == ["team.created", "team.created", "team.created", "subscription.disabled"]


@pytest.mark.config(WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://10.0.0.1/hook",
                                 "http://[::1]/hook", "http://169.254.169.254/latest",
                                 "http://localhost:8080/x"])
def test_private_addresses_are_refused_unless_allowed(runner, url):
    result = runner.invoke(args=["webhooks", "add", url])
    assert result.exit_code == 1
    assert "loopback, private or link-local address" in result.output
    assert "WEBHOOK_ALLOW_PRIVATE=1" in result.output
    assert db.session.scalars(select(Subscription)).all() == []


def test_the_command_line_adds_lists_and_tests(runner, receiver):
    hook = receiver()
    added = runner.invoke(args=["webhooks", "add", hook.url, "--event", "team.created",
                                "--tier", "1"])
    assert added.exit_code == 0, added.output
    subscription_id, secret = added.stdout.split()[:2]
    assert secret.startswith("whsec_")
    listed = runner.invoke(args=["webhooks", "list"])
    assert f"{subscription_id}\twebhook\t{hook.url}\tevent=team.created, tier=1\tactive" \
        in listed.output
    assert runner.invoke(args=["webhooks", "test", subscription_id]).exit_code == 0
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    headers, body = hook.requests[0]
    assert Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})[
        "type"] == "webhook.test"
    unknown = runner.invoke(args=["webhooks", "add", hook.url, "--event", "review.eaten"])
    assert unknown.exit_code == 1 and "unknown event type(s): review.eaten" in unknown.output


def test_a_team_member_subscribes_only_to_their_teams(app):
    team, other = make_team(slug="mine"), make_team(slug="theirs")
    member = make_user(teams=[team])
    db.session.commit()
    with pytest.raises(ops.SubscriptionNotAllowed, match="events of their own teams"):
        ops.subscribe(member, kind="webhook", target="https://example.com/h",
                      teams=["theirs"], refusal=lambda _url: None)
    loner = make_user()
    db.session.commit()
    with pytest.raises(ops.SubscriptionNotAllowed, match="you are in none"):
        ops.subscribe(loner, kind="webhook", target="https://example.com/h",
                      refusal=lambda _url: None)
    subscription, _ = ops.subscribe(member, kind="webhook", target="https://example.com/h",
                                    teams=["mine"], refusal=lambda _url: None)
    assert subscription.teams == ["mine"] and other.slug == "theirs"


def test_metrics_count_deliveries_by_outcome_and_the_backlog(app, client, receiver):
    from readiness.commands.tokens import create_token
    admin = make_user(roles=("admin",))
    _, token = create_token(admin, name="m", actor=admin)
    hook = receiver(500)
    subscribe(hook.url)
    make_team(slug="one")
    make_team(slug="two")
    db.session.commit()
    clock = Clock()
    work(clock)  # the first fails (retried), the second waits behind it

    def metrics():
        text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line.startswith("readiness_deliver")}

    found = metrics()
    assert found['readiness_deliveries_total{outcome="retried"}'] == 1
    assert found['readiness_deliveries_total{outcome="delivered"}'] == 0
    assert found["readiness_delivery_backlog"] == 2
    clock.now += timedelta(seconds=6)
    work(clock)
    found = metrics()
    assert found['readiness_deliveries_total{outcome="delivered"}'] == 2
    assert found["readiness_delivery_backlog"] == 0


@pytest.fixture
def smtp_server():
    """aiosmtpd on a free loopback port; yields (its smtp:// URL, the messages)."""
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", received
    finally:
        controller.stop()


def test_an_email_subscription_is_mailed_through_smtp(app, smtp_server):
    url, received = smtp_server
    app.config["SMTP_URL"] = url
    try:
        ops.subscribe(None, kind="email", target="ops@example.com",
                      event_types=["service.created"], refusal=lambda _url: None)
        make_service(slug="checkout", name="Checkout", team=make_team(slug="payments"))
        db.session.commit()
        work()
    finally:
        app.config["SMTP_URL"] = None
    (recipients, content), = received
    assert recipients == ["ops@example.com"]
    assert "Subject: [readiness] system: service created (Checkout)" in content
    assert "Open in readiness: http://readiness.test/services/checkout" in content
    assert db.session.scalars(select(Delivery.state)).all() == ["delivered"]


def test_an_email_subscription_needs_an_address(app):
    with pytest.raises(ops.InvalidInput, match="is not an email address"):
        ops.subscribe(None, kind="email", target="not-an-address",
                      refusal=lambda _url: None)


def test_every_event_type_is_documented():
    from pathlib import Path

    from readiness.audit import AuditAction
    from readiness.domain.notifications import ALL_EVENT_TYPES, EVENT_TYPES
    doc = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    assert all(f"| `{kind}` |" in doc for kind in ALL_EVENT_TYPES)  # in a table
    assert all(f"### `{kind}`\n\n```json\n" in doc for kind in ALL_EVENT_TYPES)  # an example
    assert {str(a) for a in AuditAction} == set(EVENT_TYPES)  # every action has a type


def test_a_send_that_raises_is_a_failed_attempt_not_a_dead_worker(app):
    subscription, _ = ops.subscribe(None, kind="webhook", target="http://a..b/x",
                                    refusal=lambda _url: None)
    make_team(slug="one")
    db.session.commit()
    work()
    delivery = db.session.scalars(select(Delivery)).one()
    assert (delivery.state, delivery.attempts, delivery.failures) == ("pending", 1, 1)
    assert delivery.last_error and subscription.id


def test_failing_receivers_do_not_hold_back_the_others(app, receiver):
    down, up = receiver(*[500] * 1000), receiver()
    for _ in range(12):
        subscribe(down.url)
    subscribe(up.url)
    for slug in ("one", "two", "three"):
        make_team(slug=slug)
    db.session.commit()
    clock = Clock()
    for _ in range(3):
        work(clock)
        clock.now += timedelta(seconds=1)  # before any retry is due
    assert [json.loads(body)["data"]["changes"]["slug"] for _, body in up.requests] == [
        "one", "two", "three"]
    assert len(down.requests) == 12  # each failing one tried once, then waits


def test_no_transaction_is_open_while_a_message_is_sent(app):
    """On SQLite a worker's transaction holds the write lock: a web write meanwhile
    must not wait for a slow receiver."""
    from readiness.database import writing
    from readiness.webhooks import Outcome

    subscribe("https://hooks.example.com/x")
    make_team(slug="one")
    db.session.commit()
    waited = []

    def slow_send(_subscription, _delivery):
        def write():
            with app.app_context(), writing():
                started = time.monotonic()
                make_team(slug="written-meanwhile")
                db.session.commit()
                waited.append(time.monotonic() - started)

        other = threading.Thread(target=write)
        other.start()
        other.join(timeout=5)
        return Outcome(200)

    ops.fan_out("http://readiness.test")
    db.session.commit()
    with writing():
        assert ops.deliver_due(slow_send) == 1
    assert waited and waited[0] < 1.0


def test_a_retry_after_of_zero_still_waits_and_is_no_failure(app, receiver):
    hook = receiver(429, 429, 500, headers={429: {"Retry-After": "0"}})
    subscribe(hook.url)
    make_team(slug="one")
    db.session.commit()
    clock = Clock()
    work(clock)
    delivery = db.session.scalars(select(Delivery)).one()
    assert delivery.next_attempt_at - clock.now == timedelta(seconds=5)
    for _ in range(3):
        clock.now = delivery.next_attempt_at
        work(clock)
        db.session.refresh(delivery)
    assert (delivery.state, delivery.attempts, delivery.failures) == ("delivered", 4, 1)


def test_the_record_keeps_the_host_not_the_url_of_a_webhook(app):
    ops.subscribe(None, kind="slack", target="https://hooks.slack.com/services/T0/B0/s3cr3t",
                  refusal=lambda _url: None)
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "subscription:create")).one()
    assert entry.changes["target"] == "hooks.slack.com"
    assert "s3cr3t" not in json.dumps(entry.changes)


def test_a_member_who_left_the_team_is_no_longer_told(app, receiver):
    hook = receiver()
    team = make_team(slug="payments")
    member = make_user(teams=[team])
    db.session.commit()
    ops.subscribe(member, kind="webhook", target=hook.url, refusal=lambda _url: None)
    make_service(slug="first", team=team)
    db.session.commit()
    work()
    member.teams = []
    make_service(slug="second", team=team)
    db.session.commit()
    work()
    assert [json.loads(body)["data"]["service"]["slug"] for _, body in hook.requests] == [
        "first"]
