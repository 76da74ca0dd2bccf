"""Notifications: which event an audit entry is, who asked to be told of it, how a
webhook message is signed (Standard Webhooks) and when a failed one is tried again.

Pure: no Flask, no database, no network. docs/notifications.md lists the event types.
"""

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

# The event type of each audit action (docs/notifications.md has a payload of each).
EVENT_TYPES = {
    "team:create": "team.created",
    "team:update": "team.updated",
    "user:create": "user.created",
    "user:update": "user.updated",
    "user:login": "user.signed_in",
    "user:logout": "user.signed_out",
    "service:create": "service.created",
    "service:update": "service.updated",
    "service:launch": "service.launched",
    "service:handoff": "service.handed_off",
    "service:handback": "service.handed_back",
    "service:retire": "service.retired",
    "fact:record": "facts.recorded",
    "fact:collect": "facts.collected",
    "token:create": "token.created",
    "token:revoke": "token.revoked",
    "checklist:sync": "checklist.synced",
    "review:start": "review.started",
    "review:save": "review.saved",
    "review:submit": "review.submitted",
    "review:approve": "review.decided",
    "review:request_changes": "review.decided",
    "review:withdraw": "review.withdrawn",
    "review:confirm": "review.confirmed",
    "waiver:request": "waiver.requested",
    "waiver:grant": "waiver.granted",
    "waiver:refuse": "waiver.refused",
    "waiver:withdraw": "waiver.withdrawn",
    "campaign:create": "campaign.created",
    "trial:record": "trial.recorded",
    "capacity:set": "capacity.set",
    "gate:override": "gate.overridden",
    "subscription:create": "subscription.created",
    "subscription:disable": "subscription.disabled",
    "reminder:approval_expiring": "reminder.approval_expiring",
    "reminder:review_waiting": "reminder.review_waiting",
    "reminder:handback_candidate": "reminder.handback_candidate",
    "reminder:waiver_expiring": "reminder.waiver_expiring",
    "reminder:rereview_needed": "reminder.rereview_needed",
    "reminder:campaign_deadline": "reminder.campaign_deadline",
}
# An approval is reminded of when this many days are left (the nearest crossed only).
EXPIRY_REMINDER_DAYS = (30, 7, 1)
REVIEW_WAITING = timedelta(days=3)
TEST_EVENT = "webhook.test"
ALL_EVENT_TYPES = tuple(sorted({*EVENT_TYPES.values(), TEST_EVENT}))

# Waits before each retry of a failed delivery (DESIGN.md); after the last, it failed.
BACKOFF = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=5), timedelta(hours=10), timedelta(hours=24))
MAX_RETRY_AFTER = timedelta(hours=24)
# The prefix of a signing secret, not a secret.
SECRET_PREFIX = "whsec_"  # noqa: S105  # nosec B105


def event_type(action: str) -> str:
    """The event type of an audit action; an action without one is named after it."""
    return EVENT_TYPES.get(action) or action.replace(":", ".")


@dataclass(frozen=True)
class Event:
    """What a subscription's filter looks at: the type, and the service it is about
    (its slug, team and tier), or its team alone, when it has one."""

    type: str
    service: str | None = None
    team: str | None = None
    tier: int | None = None


@dataclass(frozen=True)
class Filter:
    event_types: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    tiers: tuple[int, ...] = ()

    def matches(self, event: Event) -> bool:
        """Every filter that is set must hold (an empty one allows all); an event about
        no team or service passes only filters without teams, services or tiers."""
        return ((not self.event_types or event.type in self.event_types)
                and (not self.teams or event.team in self.teams)
                and (not self.services or event.service in self.services)
                and (not self.tiers or event.tier in self.tiers))


def expiry_reminder(days_left: float) -> int | None:
    """Which reminder (30, 7 or 1 days) is due for an approval with `days_left`: the
    nearest threshold crossed; None beyond 30 days or once it has expired."""
    if days_left <= 0:
        return None
    crossed = [days for days in EXPIRY_REMINDER_DAYS if days_left <= days]
    return min(crossed) if crossed else None


def new_secret() -> str:
    """A webhook signing secret as Standard Webhooks writes them: whsec_ + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: v1, base64 of HMAC-SHA256 over "id.timestamp.body"
    with the secret's bytes (https://www.standardwebhooks.com)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def retry_wait(failures: int) -> timedelta | None:
    """How long to wait after the `failures`-th failed attempt; None: give up."""
    return BACKOFF[failures - 1] if failures <= len(BACKOFF) else None


def is_refused_address(address: str) -> bool:
    """True for an address a webhook must not reach unless private ones are allowed:
    loopback, private, link-local, multicast, reserved, unspecified (also as IPv4
    mapped into IPv6)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo) is judged as itself.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo and ip.teredo[1])
        if embedded is not None and is_refused_address(str(embedded)):
            return True
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def unknown_event_types(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(ALL_EVENT_TYPES))
