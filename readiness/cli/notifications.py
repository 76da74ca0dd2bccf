"""`flask webhooks add|list|test` and `flask worker` (docs/notifications.md)."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from .. import mail, worker
from .. import webhooks as http
from ..commands import notifications as ops
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import Delivery, Subscription, User

webhooks_group = AppGroup("webhooks", help="Subscriptions to events: webhooks, Slack, email.")


def _refusal(url):
    return http.refusal(url, current_app.config["WEBHOOK_ALLOW_PRIVATE"])


@webhooks_group.command("add")
@click.argument("url")
@click.option("--kind", type=click.Choice(["webhook", "slack", "email"]), default="webhook",
              show_default=True)
@click.option("--event", "events", multiple=True, metavar="TYPE",
              help="Only these event types (repeat; default: all).")
@click.option("--team", "teams", multiple=True, metavar="SLUG", help="Only these teams.")
@click.option("--service", "services", multiple=True, metavar="SLUG",
              help="Only these services.")
@click.option("--tier", "tiers", multiple=True, type=click.IntRange(1, 3),
              help="Only services of these tiers.")
@click.option("--user", "email", default=None,
              help="Subscribe as this user, within their rights (default: the command "
                   "line, with every right).")
def add_command(url, kind, events, teams, services, tiers, email):
    """Subscribe URL to events. Prints the subscription's id and, for a webhook, its
    signing secret (whsec_…), which is shown only now."""
    user = None
    if email is not None:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user {email}")
    try:
        subscription, secret = ops.subscribe(
            user, kind=kind, target=url, event_types=events, teams=teams, services=services,
            tiers=tiers, refusal=_refusal)
    except (InvalidInput, ops.SubscriptionNotAllowed) as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(subscription.id)
    if secret:
        click.echo(secret)
        click.echo("The secret is shown only now: give it to the receiver to check "
                   "signatures.", err=True)


@webhooks_group.command("list")
def list_command():
    """Every subscription: id, kind, target, filters, state and pending deliveries."""
    pending = dict(db.session.execute(
        select(Delivery.subscription_id, func.count()).where(Delivery.state == "pending")
        .group_by(Delivery.subscription_id)).all())
    for s in db.session.scalars(select(Subscription).order_by(Subscription.id)):
        filters = ", ".join(f"{name}={','.join(map(str, values))}" for name, values in (
            ("event", s.event_types), ("team", s.teams), ("service", s.services),
            ("tier", s.tiers)) if values) or "all events"
        state = f"disabled: {s.disabled_reason}" if s.disabled_at else "active"
        click.echo(f"{s.id}\t{s.kind}\t{s.target}\t{filters}\t{state}\t"
                   f"{pending.get(s.id, 0)} pending")


@webhooks_group.command("test")
@click.argument("subscription_id", type=int)
def test_command(subscription_id):
    """Queue a webhook.test message for the subscription (the worker sends it)."""
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None:
        raise click.ClickException(f"no subscription {subscription_id}")
    if subscription.disabled_at is not None:
        raise click.ClickException(f"subscription {subscription_id} is disabled "
                                   f"({subscription.disabled_reason}): nothing is sent to it")
    delivery = ops.send_test(subscription, current_app.config["BASE_URL"])
    db.session.commit()
    click.echo(f"Queued {delivery.message_id}; `flask --app app worker` sends it.")


def send(subscription, delivery):
    """One attempt at a delivery, as its subscription's kind says."""
    allow = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    if subscription.kind == "email":
        return mail.send(current_app.config["SMTP_URL"], current_app.config["SMTP_FROM"],
                         subscription.target, delivery.body)
    if subscription.kind == "slack":
        return http.post(subscription.target, http.slack_body(delivery.body),
                         allow_private=allow)
    return http.post(subscription.target, delivery.body.encode(),
                     message_id=delivery.message_id, secret=subscription.secret,
                     allow_private=allow)


@click.command("worker")
@click.option("--once", is_flag=True, help="One round, then exit.")
def worker_command(once):
    """Turn the record into deliveries and send them, write reminders, and collect
    each fact source of telemetry/ every interval_minutes, until stopped (Ctrl-C,
    SIGTERM).

    Deliveries of a subscription go in order; a failed one is tried again after 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h and 24 h with the same webhook-id, then counts as
    failed; 429 waits for Retry-After; 410 disables the subscription. Several workers
    may run at once: each subscription is sent by one of them at a time.
    """
    result = worker.run(
        base_url=current_app.config["BASE_URL"], send=send, once=once,
        telemetry_dir=current_app.config["TELEMETRY_DIR"],
        lease=timedelta(seconds=current_app.config["WORKER_LEASE_SECONDS"]),
        log=lambda line: click.echo(line, err=True))
    if once:
        read, sent = result
        click.echo(f"{read} record entries read, {sent} deliveries sent.")
