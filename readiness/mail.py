"""Sending one notification by email, through the SMTP server of SMTP_URL
(docs/notifications.md). Infrastructure: the network."""

import json
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from .webhooks import TIMEOUT_SECONDS, Outcome


def send(smtp_url: str | None, sender: str, to: str, event_body: str) -> Outcome:
    """Mail the event to `to`: `smtp://[user:password@]host[:port]` (plain, port 25),
    `smtp+starttls://…` (STARTTLS, port 587) or `smtps://…` (TLS, port 465)."""
    if not smtp_url:
        return Outcome(None, "SMTP_URL is not set: email cannot be sent")
    parts = urlsplit(smtp_url)
    kinds = {"smtp": (smtplib.SMTP, 25), "smtp+starttls": (smtplib.SMTP, 587),
             "smtps": (smtplib.SMTP_SSL, 465)}
    if parts.scheme not in kinds or not parts.hostname:
        return Outcome(None, "SMTP_URL must be smtp://, smtp+starttls:// or smtps://host")
    client, port = kinds[parts.scheme]
    try:
        with client(parts.hostname, parts.port or port, timeout=TIMEOUT_SECONDS) as smtp:
            if parts.scheme == "smtp+starttls":
                smtp.starttls()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message(sender, to, event_body))
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(None, f"SMTP: {exc}"[:500])
    return Outcome(250)


def message(sender, to, event_body):
    """The email of an event: its summary as the subject; the summary, the link back
    and the event's data as text."""
    event = json.loads(event_body)
    data = event.get("data", {})
    summary = data.get("summary") or event["type"]
    mail = EmailMessage()
    mail["Subject"] = f"[readiness] {summary}"
    mail["From"], mail["To"] = sender, to
    link = data.get("links", {}).get("page")
    mail.set_content("\n".join(filter(None, [
        summary, f"Open in readiness: {link}" if link else None, "",
        f"Event {event['type']} at {event['timestamp']}:",
        json.dumps(data, indent=2, sort_keys=True)])))
    return mail
