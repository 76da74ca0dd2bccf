"""Use cases for notifications (docs/notifications.md): subscribing, turning the record
into deliveries, and sending them, as the worker does.

The record is the outbox: every change writes its audit entry in its own transaction,
so an event cannot be lost by a crash; the worker turns entries into deliveries (the
cursor moves in the same transaction as the deliveries are written) and sends each
subscription's deliveries in order, one worker a subscription at a time (a lease), and
each again, with the same message id, until it is answered with 2xx.
"""

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from ..audit import AuditAction, record
from ..domain import notifications as rules
from ..domain.inputs import EMAIL_PATTERN, InvalidInput, is_http_link
from ..extensions import db
from ..fact_table import upsert
from ..models import (
    AuditEntry,
    Delivery,
    DeliveryCount,
    EventCursor,
    Review,
    Service,
    Subscription,
    Team,
    utcnow,
)
from ..webhooks import Outcome

CURSOR = "deliveries"
FAN_OUT_BATCH = 500  # record entries turned into deliveries a transaction
LEASE = timedelta(seconds=30)  # renewed after each delivery sent


class SubscriptionNotAllowed(Exception):
    """The filter asks for more than the user may see."""


def subscribe(user, *, kind, target, event_types=(), teams=(), services=(), tiers=(),
              refusal: Callable[[str], str | None]):
    """A new subscription for `user` (None: the command line, with every right); returns
    (subscription, its secret or None). Admins and ops leads subscribe to anything; a
    team member to events of their own teams (all of them when it names none).
    `refusal(url)` says why a URL may not be used.

    :raise InvalidInput: for a bad kind, target, event type, team, service or tier.
    :raise SubscriptionNotAllowed: for teams beyond the user's.
    """
    if kind not in ("webhook", "slack", "email"):
        raise InvalidInput(f"'{kind}' is not a kind: webhook, slack or email", "kind")
    if user is not None and not (user.is_admin or user.is_ops_lead):
        own = {team.slug for team in user.teams}
        teams = teams or sorted(own)  # none named: all of theirs
        if not teams or not set(teams) <= own:
            raise SubscriptionNotAllowed(
                "A team member subscribes to events of their own teams "
                f"({', '.join(sorted(own)) or 'you are in none'}); admins and ops leads "
                "to anything.")
    target = target.strip()
    if kind == "email":
        if not EMAIL_PATTERN.match(target) or len(target) > 254:
            raise InvalidInput(f"{target!r} is not an email address", "target")
    else:
        if not is_http_link(target):
            raise InvalidInput(f"{target!r} is not an http:// or https:// address", "target")
        refused = refusal(target)
        if refused:
            raise InvalidInput(refused, "target")
    unknown = rules.unknown_event_types(event_types)
    if unknown:
        raise InvalidInput(f"unknown event type(s): {', '.join(unknown)} "
                           "(docs/notifications.md lists them)", "event")
    known_teams = set(db.session.scalars(select(Team.slug).where(Team.slug.in_(teams))))
    if set(teams) - known_teams:
        raise InvalidInput(f"no team {', '.join(sorted(set(teams) - known_teams))}", "team")
    known = set(db.session.scalars(select(Service.slug).where(Service.slug.in_(services))))
    if set(services) - known:
        raise InvalidInput(f"no service {', '.join(sorted(set(services) - known))}",
                           "service")
    if any(tier not in (1, 2, 3) for tier in tiers):
        raise InvalidInput("tiers are 1, 2 and 3", "tier")
    secret = rules.new_secret() if kind == "webhook" else None
    subscription = Subscription(
        kind=kind, target=target, secret=secret, event_types=sorted(set(event_types)),
        teams=sorted(set(teams)), services=sorted(set(services)), tiers=sorted(set(tiers)),
        created_by=user)
    db.session.add(subscription)
    # Not the URL itself: a Slack or webhook URL often carries a token (the record is
    # read on pages, exported and sent as an event).
    record(AuditAction.SUBSCRIPTION_CREATE, actor=user, subject=subscription, kind=kind,
           target=target if kind == "email" else urlsplit(target).hostname,
           event_types=subscription.event_types, teams=subscription.teams,
           services=subscription.services, tiers=subscription.tiers)
    # It is told of what happens after its own making.
    subscription.since_seq = db.session.scalar(select(func.max(AuditEntry.seq)))
    return subscription, secret


def fan_out(base_url, limit=FAN_OUT_BATCH):
    """Turn the record's entries after the cursor into deliveries for the subscriptions
    that ask for them, and move the cursor, in one transaction (the caller commits);
    returns how many entries were read. Two workers doing it at once: one moves the
    cursor, the other finds it moved and writes nothing (0)."""
    cursor = db.session.get(EventCursor, CURSOR)
    if cursor is None:  # migration 0016 makes it; a database made by create_all has none
        first = db.session.scalar(select(func.min(Subscription.since_seq)))
        head = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
        cursor = EventCursor(name=CURSOR, seq=head if first is None else first)
        db.session.add(cursor)
        db.session.flush()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > cursor.seq)
                                 .order_by(AuditEntry.seq).limit(limit)).all()
    if not entries:
        return 0
    moved = db.session.execute(
        update(EventCursor).where(EventCursor.name == CURSOR, EventCursor.seq == cursor.seq)
        .values(seq=entries[-1].seq).execution_options(synchronize_session=False)).rowcount
    if moved != 1:  # another worker took these entries
        db.session.rollback()
        return 0
    filters = {s: f for s in db.session.scalars(select(Subscription).where(
        Subscription.disabled_at.is_(None))) if (f := _filter(s)) is not None}
    if filters:
        context = _context(entries)
        for entry in entries:
            event, body = _event(entry, context, base_url)
            for subscription, rule in filters.items():
                if entry.seq > subscription.since_seq and rule.matches(event):
                    db.session.add(_delivery(subscription, entry.seq, event.type, body,
                                             due=entry.created_at))
    return len(entries)


def send_test(subscription, base_url):
    """Queue a `webhook.test` message for `subscription` (sent by the worker)."""
    body = _body(rules.TEST_EVENT, utcnow(), {
        "summary": "A test message from readiness: this subscription works.",
        "subscription": subscription.id, "links": {"page": base_url}})
    delivery = _delivery(subscription, 0, rules.TEST_EVENT, body, due=utcnow())
    db.session.add(delivery)
    return delivery


def send_again(delivery):
    """Queue a delivery to be sent again now, with the same message id (the subscription
    page's "send again"): a failed or cancelled one goes back in line; one delivered is
    sent once more."""
    delivery.state, delivery.next_attempt_at = "pending", utcnow()
    delivery.delivered_at = None


def deliver_due(send: Callable[[Subscription, Delivery], object], *, clock=utcnow,
                subscriptions=10, lease=LEASE):
    """Send what is due: for up to `subscriptions` subscriptions no other worker holds,
    their pending deliveries in order, until one fails (it blocks the later ones until
    its retry). `send(subscription, delivery)` returns a webhooks.Outcome; `clock()` is
    the time. Commits after each delivery; returns how many were sent (delivered or
    not). A worker that dies holding a lease holds it `lease` at most."""
    now = clock()
    head = Delivery.__table__.alias("head")
    earlier = select(Delivery.id).where(Delivery.subscription_id == head.c.subscription_id,
                                        Delivery.state == "pending",
                                        Delivery.id < head.c.id).exists()
    # Subscriptions whose oldest waiting delivery is due (one waiting for its retry holds
    # back the later ones, so they are not due), the longest due first.
    candidates = db.session.execute(
        select(head.c.subscription_id).join(Subscription,
                                            Subscription.id == head.c.subscription_id)
        .where(head.c.state == "pending", head.c.next_attempt_at <= now, ~earlier,
               Subscription.disabled_at.is_(None),
               (Subscription.leased_until.is_(None)) | (Subscription.leased_until < now))
        .order_by(head.c.next_attempt_at, head.c.id).limit(subscriptions)).scalars().all()
    db.session.commit()
    sent = 0
    for subscription_id in candidates:  # each taken just before its turn, if still free
        now = clock()
        held = _lease(subscription_id, now + lease,
                      (Subscription.leased_until.is_(None)) | (Subscription.leased_until < now))
        db.session.commit()
        if held:
            sent += _send_in_order(subscription_id, send, clock, lease, now + lease)
    return sent


def _lease(subscription_id, until, condition):
    """Set the subscription's lease to `until` where `condition` holds (one statement:
    two workers cannot both take it); True if it did."""
    return db.session.execute(
        update(Subscription).where(Subscription.id == subscription_id, condition)
        .values(leased_until=until).execution_options(synchronize_session=False)
    ).rowcount == 1


def _send_in_order(subscription_id, send, clock, lease, until):
    """Send the subscription's due deliveries in order while this worker holds its
    lease (until `until`, renewed after each); stop at the first that fails. No
    transaction is open while a message is on its way (on SQLite a transaction of the
    worker holds the write lock)."""
    sent = 0
    try:
        while True:
            subscription = db.session.get(Subscription, subscription_id, populate_existing=True)
            if subscription is None or subscription.disabled_at is not None:
                break
            head = db.session.scalars(select(Delivery).where(
                Delivery.subscription_id == subscription_id, Delivery.state == "pending")
                .order_by(Delivery.id).limit(1)).first()
            if head is None or head.next_attempt_at > clock():
                break
            target = SimpleNamespace(id=subscription.id, kind=subscription.kind,
                                     target=subscription.target, secret=subscription.secret)
            message = SimpleNamespace(id=head.id, message_id=head.message_id, body=head.body,
                                      event_type=head.event_type)
            db.session.commit()
            outcome = _attempt(send, target, message)
            sent += 1
            subscription = db.session.get(Subscription, subscription_id, populate_existing=True)
            head = db.session.get(Delivery, message.id, populate_existing=True)
            _note(subscription, head, outcome, clock())
            renewed = clock() + lease
            held = _lease(subscription_id, renewed, Subscription.leased_until == until)
            db.session.commit()
            until = renewed
            if not held or head.state != "delivered":
                break  # another worker took it over (this one was too slow), or retry later
    finally:
        db.session.rollback()
        _lease(subscription_id, None, Subscription.leased_until == until)
        db.session.commit()
    return sent


def _attempt(send, subscription, delivery):
    """`send`'s outcome; whatever goes wrong in it is a failed attempt, not a dead
    worker (a malformed address, an odd answer)."""
    try:
        return send(subscription, delivery)
    except Exception as exc:  # any failure of one message is that message's
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])


def _note(subscription, delivery, outcome, now):
    """What an attempt's `outcome` makes of the delivery (and, for 410, of its
    subscription)."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status = outcome.status
    delivery.last_error = outcome.error[:500]
    _count(_outcome(delivery, outcome))
    if outcome.delivered:
        delivery.state, delivery.delivered_at = "delivered", now
    elif outcome.status == 410:  # Gone: the receiver asks to be forgotten
        delivery.state = "cancelled"
        subscription.disabled_at = now
        subscription.disabled_reason = "the receiver answered 410 Gone"
        db.session.execute(update(Delivery).where(
            Delivery.subscription_id == subscription.id, Delivery.state == "pending")
            .values(state="cancelled").execution_options(synchronize_session=False))
        record(AuditAction.SUBSCRIPTION_DISABLE, actor=None, subject=subscription,
               reason=subscription.disabled_reason)
    elif outcome.status == 429 and outcome.retry_after is not None:
        # Slowed down, not failed: it waits as asked, at least the first retry's wait.
        delivery.next_attempt_at = now + max(outcome.retry_after, rules.BACKOFF[0])
    else:
        delivery.failures += 1
        wait = rules.retry_wait(delivery.failures)
        if wait is None:
            delivery.state = "failed"
        else:
            delivery.next_attempt_at = now + wait


def _outcome(delivery, outcome):
    """What an attempt comes to, for the counts: delivered, cancelled (410), failed (the
    last try) or retried."""
    if outcome.delivered:
        return "delivered"
    if outcome.status == 410:
        return "cancelled"
    if outcome.status == 429 and outcome.retry_after is not None:
        return "retried"
    return "failed" if rules.retry_wait(delivery.failures + 1) is None else "retried"


def _count(outcome):
    table = DeliveryCount.__table__
    insert = upsert(table, db.session).values(outcome=outcome, deliveries=1)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["outcome"], set_={"deliveries": table.c.deliveries + 1}))


def _delivery(subscription, seq, event_type, body, due):
    """A delivery of an event, due from `due` (when the event happened)."""
    return Delivery(subscription_id=subscription.id, event_seq=seq, event_type=event_type,
                    message_id="msg_" + secrets.token_urlsafe(18), body=body,
                    next_attempt_at=due)


def _filter(subscription):
    """The subscription's filter within its maker's rights today: a team member who left
    a team is no longer told of it, a disabled one of nothing (None)."""
    teams = tuple(subscription.teams)
    maker = subscription.created_by
    if maker is not None and not (maker.is_admin or maker.is_ops_lead):
        if maker.is_disabled:
            return None
        own = {team.slug for team in maker.teams}
        teams = tuple(t for t in teams if t in own)
        if not teams:
            return None
    return rules.Filter(tuple(subscription.event_types), teams,
                        tuple(subscription.services), tuple(subscription.tiers))


def _context(entries):
    """({service id: (slug, team slug, tier, name)}, {review id: service id}, {team id:
    slug}) of the services, reviews and teams the entries are about."""
    ids = {"service": set(), "review": set()}
    for entry in entries:
        if entry.subject_type in ids and entry.subject_id.isdigit():
            ids[entry.subject_type].add(int(entry.subject_id))
    reviews = dict(db.session.execute(select(Review.id, Review.service_id).where(
        Review.id.in_(ids["review"]))).all()) if ids["review"] else {}
    wanted = ids["service"] | set(reviews.values())
    services = {i: (slug, team, tier, name) for i, slug, team, tier, name in db.session.execute(
        select(Service.id, Service.slug, Team.slug, Service.tier, Service.name)
        .join(Service.team).where(Service.id.in_(wanted)))} if wanted else {}
    team_ids = {int(e.subject_id) for e in entries
                if e.subject_type == "team" and e.subject_id.isdigit()}
    teams = dict(db.session.execute(select(Team.id, Team.slug).where(
        Team.id.in_(team_ids))).all()) if team_ids else {}
    return services, reviews, teams


def _event(entry, context, base_url):
    """(domain Event, the Standard Webhooks body) of a record entry."""
    services, reviews, _teams = context
    kind = rules.event_type(entry.action)
    slug, team, tier, name = _about(entry, services, reviews)
    if entry.subject_type == "team" and entry.subject_id.isdigit():
        team = context[2].get(int(entry.subject_id))
    links = {}
    if slug:
        links["service"] = links["page"] = f"{base_url}/services/{slug}"
    if entry.subject_type == "review":
        links["review"] = links["page"] = f"{base_url}/reviews/{entry.subject_id}"
    campaign = (entry.subject_id if entry.subject_type == "campaign"
                else entry.changes.get("campaign"))
    if campaign is not None and str(campaign).isdigit():
        links["campaign"] = links["page"] = f"{base_url}/campaigns/{campaign}"
    data = {
        "seq": entry.seq, "action": entry.action,
        "actor": {"name": entry.actor_name, "email": entry.actor_email},
        "subject": {"type": entry.subject_type, "id": entry.subject_id},
        "service": {"slug": slug, "name": name, "team": team, "tier": tier} if slug else None,
        "changes": entry.changes, "links": links,
        "summary": _summary(kind, entry, name or slug),
    }
    return rules.Event(kind, slug, team, tier), _body(kind, entry.created_at, data)


def _about(entry, services, reviews):
    """(slug, team slug, tier, name) of the service an entry is about, or Nones."""
    service_id = None
    if entry.subject_type == "service" and entry.subject_id.isdigit():
        service_id = int(entry.subject_id)
    elif entry.subject_type == "review" and entry.subject_id.isdigit():
        service_id = reviews.get(int(entry.subject_id))
    return services.get(service_id, (None, None, None, None))


def _summary(kind, entry, service):
    what = kind.replace(".", " ").replace("_", " ")
    about = f" ({service})" if service else ""
    return f"{entry.actor_name}: {what}{about}"


def _body(kind, at, data):
    return json.dumps({"type": kind, "timestamp": at.isoformat().replace("+00:00", "Z"),
                       "data": data}, sort_keys=True, separators=(",", ":"), default=str)
