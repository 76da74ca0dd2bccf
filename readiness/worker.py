"""The worker's loop (`flask --app app worker`): the record into deliveries, and
deliveries sent (commands.notifications), round after round (docs/notifications.md).

Infrastructure: it owns the process's transactions (each SQLite one takes the write
lock from its start, beside the app servers writing) and outlives a database that is
busy or away for a moment."""

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from .commands import notifications as ops
from .database import writing
from .extensions import db

POLL_SECONDS = 0.5  # how often an idle worker looks for new entries and due deliveries
RETRY_SECONDS = 2  # after a database error


def run(*, base_url: str, send: Callable, lease: timedelta, once: bool = False,
        log: Callable[[str], None] = print):
    """Rounds until stopped (or one, with `once`; returns what it did)."""
    with writing():
        while True:
            try:
                read = ops.fan_out(base_url)
                db.session.commit()
                sent = ops.deliver_due(send, lease=lease)
            except DBAPIError as exc:  # locked, restarted, away: try again shortly
                db.session.rollback()
                log(f"database error, trying again in {RETRY_SECONDS} s: {exc.orig}")
                if once:
                    raise
                time.sleep(RETRY_SECONDS)
                continue
            finally:
                db.session.remove()
            if once:
                return read, sent
            if not read and not sent:
                time.sleep(POLL_SECONDS)
