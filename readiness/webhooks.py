"""Sending one delivery over HTTP (a webhook or a Slack incoming webhook), and the
address check that keeps webhooks off private networks (docs/notifications.md).

Infrastructure: DNS and the network. What is sent, and what an answer means for the
delivery, is decided in domain.notifications and commands.notifications."""

import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from .domain.notifications import MAX_RETRY_AFTER, is_refused_address, sign

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str = ""
    retry_after: timedelta | None = None  # from a 429's Retry-After

    @property
    def delivered(self):
        return self.status is not None and 200 <= self.status < 300


def refusal(url: str, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to `url`, or None: not http(s), a host that does not
    resolve, or (unless `allow_private`) one that resolves to a loopback, private,
    link-local, multicast or reserved address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// address"
    try:
        httpx.URL(url)  # what the client will accept (IDNA, ports, characters)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        return f"{url!r} is not an address that can be sent to ({exc})"
    if allow_private:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return f"{parts.hostname} does not resolve"
    for *_, address in found:
        if is_refused_address(address[0]):
            return (f"{parts.hostname} is a loopback, private or link-local address "
                    f"({address[0]}); set WEBHOOK_ALLOW_PRIVATE=1 to allow it")
    return None


def post(url: str, body: bytes, *, message_id: str | None = None, secret: str | None = None,
         allow_private: bool = False, now: datetime | None = None) -> Outcome:
    """POST `body` (JSON) to `url`, signed as Standard Webhooks says when `secret` is
    given; no redirects followed, a 10 s timeout. The address is checked again here (a
    name may resolve elsewhere than when the subscription was made)."""
    refused = refusal(url, allow_private)
    if refused:
        return Outcome(None, refused)
    headers = {"Content-Type": "application/json", "User-Agent": "readiness-webhooks"}
    if secret is not None:
        timestamp = int((now or datetime.now(UTC)).timestamp())
        headers.update({"webhook-id": message_id, "webhook-timestamp": str(timestamp),
                        "webhook-signature": sign(secret, message_id, timestamp, body)})
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS,
                              follow_redirects=False)
    except httpx.TimeoutException:
        return Outcome(None, f"no answer within {TIMEOUT_SECONDS} s")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, UnicodeError) as exc:
        return Outcome(None, f"cannot reach it: {exc}"[:500])
    retry_after = None
    if response.status_code == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"), now)
    return Outcome(response.status_code, "" if response.is_success else
                   f"HTTP {response.status_code}: {response.text[:200]}", retry_after)


def _retry_after(value, now):
    """A Retry-After header (seconds or an HTTP date) as a wait, at most a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - (now or datetime.now(UTC))
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def slack_body(event_body: str) -> bytes:
    """A Slack incoming-webhook message for an event: `text` (the notification's
    fallback) and Block Kit `blocks` with a link back to the page."""
    event = json.loads(event_body)
    data = event.get("data", {})
    text = data.get("summary") or event["type"]
    link = data.get("links", {}).get("page")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(text)}},
              {"type": "context", "elements": [
                  {"type": "mrkdwn", "text": f"`{event['type']}` · {event['timestamp']}"}]}]
    if link:
        blocks[0]["accessory"] = {"type": "button", "text": {"type": "plain_text",
                                                             "text": "Open in readiness"},
                                  "url": link}
    return json.dumps({"text": text, "blocks": blocks}).encode()


def _mrkdwn(text):
    """Slack's escaping: &, < and > (its control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
