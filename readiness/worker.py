"""The worker's loop (`flask --app app worker`), round after round: the record into
deliveries and deliveries sent (commands.notifications), reminders written once a
minute (commands.reminders), and each fact source collected every `interval_minutes`
(readiness.collector). docs/notifications.md, docs/telemetry.md.

Infrastructure: it owns the process's transactions (each SQLite one takes the write
lock from its start, beside the app servers writing) and outlives a database that is
busy or away for a moment."""

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from .collector import collect_source
from .commands import notifications as ops
from .commands import reminders
from .database import writing
from .domain import telemetry
from .extensions import db
from .metrics import FACTS_STORED
from .models import utcnow

POLL_SECONDS = 0.5  # how often an idle worker looks for new entries and due deliveries
RETRY_SECONDS = 2  # after a database error
REMINDERS_EVERY = timedelta(minutes=1)
SOURCES_READ_EVERY = 60  # seconds: fact source files are read again (new, changed)


def run(*, base_url: str, send: Callable, lease: timedelta, telemetry_dir: str | None = None,
        once: bool = False, log: Callable[[str], None] = print):
    """Rounds until stopped (or one, with `once`; then returns (entries read, deliveries
    sent))."""
    sources, sources_read = [], None
    with writing():
        while True:
            if telemetry_dir and (sources_read is None
                                  or time.monotonic() - sources_read > SOURCES_READ_EVERY):
                sources, sources_read = _sources(telemetry_dir, log), time.monotonic()
            try:
                _periodic(sources, log)
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


def _periodic(sources, log):
    """Reminders, and the fact sources whose turn it is (one worker each)."""
    now = utcnow()
    if reminders.take_turn("reminders", REMINDERS_EVERY, now):
        written = reminders.write_reminders(now)
        if written:
            log(f"{written} reminder(s) written")
    db.session.commit()
    for source in sources:
        every = timedelta(minutes=source.interval_minutes)
        if reminders.take_turn(f"facts:{source.path}", every, now):
            db.session.commit()  # the turn is this worker's, whatever the queries give
            try:
                outcomes = collect_source(source, now.replace(microsecond=0))
                db.session.commit()
            except DBAPIError:
                raise
            except Exception as exc:  # one source's trouble is not the worker's end
                db.session.rollback()
                log(f"{source.path}: not collected: {type(exc).__name__}: {exc}")
                continue
            stored = sum(o.updated for o in outcomes)
            FACTS_STORED.inc(stored)
            failed = [o.name for o in outcomes if o.error]
            log(f"{source.path}: {stored} reading(s) stored"
                + (f"; failed: {', '.join(failed)}" if failed else ""))
        else:
            db.session.commit()


def _sources(folder, log):
    if not Path(folder).is_dir():
        return []
    sources, errors = telemetry.load(telemetry.discover([folder]))
    for error in errors:
        log(f"fact source not collected: {error}")
    return sources
