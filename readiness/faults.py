"""What a database error means for the person waiting, and writes nobody waits for.

The faces answer a busy database (another writer held SQLite's lock past the busy
timeout) and a database that takes no changes (read-only, full disk, a standby) with 503
and Retry-After instead of an error page; bookkeeping never waits for a lock nor fails
the request it rides on.
"""

import logging
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from .database import only_reads_from_now
from .extensions import db

log = logging.getLogger(__name__)

# How SQLite and PostgreSQL say "this database takes no changes" (read-only or full).
_NO_CHANGES_MESSAGES = ("attempt to write a readonly database", "database or disk is full",
                        "in a read-only transaction")
_NO_CHANGES_SQLSTATES = ("25006", "53100")  # read_only_sql_transaction, disk_full


def give_up_writing():
    """After a refused write: drop the request's changes; what it still shows only reads."""
    db.session.rollback()
    only_reads_from_now()


def is_busy(error):
    """True for SQLite's "database is locked": another write held the lock too long."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def takes_no_changes(error):
    """True when the database refused a write it would take on a normal day: it is
    read-only (a standby, `default_transaction_read_only`, a read-only file) or full."""
    if not isinstance(error, DBAPIError) or error.orig is None:
        return False
    if getattr(error.orig, "sqlstate", None) in _NO_CHANGES_SQLSTATES:
        return True
    return any(words in str(error.orig) for words in _NO_CHANGES_MESSAGES)


@contextmanager
def bookkeeping(what):
    """A session for writes nobody waits for, such as a token's last use: on a connection
    of its own, in a transaction that never waits for a lock and never fails the request.
    When the database is busy or takes no changes, the writes are dropped and logged
    (what, and the error's class; no values)."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection
        if sqlite:  # before BEGIN (IMMEDIATE in a write request), which would wait too
            driver.execute("PRAGMA busy_timeout=0")
        session = Session(bind=connection)
        try:
            if not sqlite:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
            yield session
            session.flush()
            connection.commit()
        except DBAPIError as error:
            connection.rollback()
            log.warning("skipped %s: the database did not take it (%s)", what,
                        type(error.orig).__name__)
        finally:
            session.close()
            if sqlite:
                timeout = int(current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
                driver.execute(f"PRAGMA busy_timeout={timeout:d}")
