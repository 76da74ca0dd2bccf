"""Engine settings and bringing the schema up to the latest migration."""

import fcntl
from contextlib import contextmanager
from pathlib import Path

from flask import has_request_context, request
from flask_migrate import upgrade
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from .extensions import db

# How long a write waits for another to finish before giving up ("database is locked").
BUSY_TIMEOUT_MS = 15_000
MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
# Names the PostgreSQL advisory lock that lets one app server migrate at a time.
MIGRATION_LOCK_KEY = 7_311_046_202


def configure_engine(app):
    """SQLite: WAL, a busy timeout, enforced foreign keys, and write requests that take
    the write lock when they begin (BEGIN IMMEDIATE).

    pysqlite starts no transaction before the first write, so a request that reads,
    then writes, could act on a stale read (a lost update) or fail when another write
    got in between; a write request that holds the lock from its first read cannot.
    """
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)


def _is_write_request():
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def _sqlite_begin(connection):
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _is_write_request() else "BEGIN")


def _sqlite_pragmas(dbapi_connection, _record):
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), so pysqlite must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def upgrade_to_head(app):
    """Bring an empty or older database up to the latest migration, one server at a time."""
    with app.app_context():
        with _migration_lock(app):
            upgrade(directory=MIGRATIONS_DIR)
        # Start request handling with a fresh pool (a server may fork after this).
        db.engine.dispose()


@contextmanager
def _migration_lock(app):
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    elif engine.url.database and engine.url.database != ":memory:":
        lock_path = Path(engine.url.database).with_suffix(".migrate-lock")
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield


def is_busy(error):
    """True for SQLite's "database is locked": another write held the lock too long."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)
