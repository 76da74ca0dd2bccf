"""Engine settings and bringing the schema up to the latest migration."""

import fcntl
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from itertools import repeat
from pathlib import Path

from flask import g, has_request_context, request
from flask_migrate import upgrade
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from .extensions import db

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
    busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout_ms))
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "commit", _after_commit)


# Set for a process whose every transaction may write (the worker): see writing().
_WRITING = ContextVar("writing", default=False)


@contextmanager
def writing():
    """Within it, every SQLite transaction begins with BEGIN IMMEDIATE, as a write
    request's does: for a process outside requests that reads, then writes, beside
    others (the worker; docs/notifications.md)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def _is_write_request():
    if _WRITING.get():
        return True
    return (has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
            and not g.get("_only_reads"))


def _after_commit(_connection):
    # What a write request does after it committed (a page to show, a redirect) only
    # reads: it must not queue for the write lock again, and a failure then must not
    # say that nothing was saved.
    if has_request_context():
        only_reads_from_now()


def only_reads_from_now():
    """The rest of this request reads only (its write was refused; the page that says so
    must not wait for the write lock again)."""
    g._only_reads = True


def _sqlite_begin(connection):
    # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement
    # machinery would cost more than the BEGIN itself. Errors ("database is locked")
    # still come out as SQLAlchemy's, as from any other statement.
    # A database that takes no changes (read-only) refuses BEGIN IMMEDIATE: the request
    # still reads, and its first write fails as any write would (faults.takes_no_changes).
    sql = "BEGIN IMMEDIATE" if _is_write_request() else "BEGIN"
    driver_connection = connection.connection.driver_connection
    try:
        try:
            driver_connection.execute(sql)
        except connection.dialect.loaded_dbapi.OperationalError as error:
            if sql == "BEGIN" or "readonly" not in str(error):
                raise
            sql = "BEGIN"
            driver_connection.execute(sql)
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(error, connection.dialect, sql, (), driver_connection) from error


def _sqlite_pragmas(busy_timeout_ms, dbapi_connection, _record):
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), so pysqlite must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # REPLACE deletes the row it replaces; with recursive triggers off, SQLite fires no
    # DELETE trigger for that, and the audit record's append-only triggers would not see it.
    cursor.execute("PRAGMA recursive_triggers=ON")
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


def driver_error(error, dialect, sql, parameters, driver_connection, cursor=None,
                 on_disconnect=None):
    """The driver's `error` as SQLAlchemy's (OperationalError, IntegrityError, …), for
    statements run straight on the driver: handlers and `is_busy` then see what they would
    see from a normal execution. `on_disconnect` runs when the error means the connection
    is gone (the pool must not hand it out again). For `except` clauses, which cost
    nothing until something is raised."""
    gone = dialect.is_disconnect(error, driver_connection, cursor)
    if gone and on_disconnect is not None:
        on_disconnect()
    return DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error,
                               connection_invalidated=gone, dialect=dialect)


class PreparedInsert:
    """INSERT of many rows with the driver's own executemany, on the session's connection
    (so inside its transaction).

    Values come by column: a sequence with one value per row, or one value for every row.
    Each goes through its column type's bind processor, as SQLAlchemy would store it;
    SQLAlchemy's per-row parameter handling, which costs more than the insert itself for
    a thousand small rows, is skipped; the engine's cursor events still fire, so statement
    counters see it. `on_conflict(insert)` may add an ON CONFLICT
    clause (SQLite and PostgreSQL spell it alike); it gets the dialect's insert().
    A column may also come already converted: a function of the dialect that returns
    what the driver gets.
    """

    def __init__(self, table, columns, on_conflict=None):
        self.table = table
        self.columns = tuple(columns)
        self.on_conflict = on_conflict
        self._prepared = {}  # dialect name -> (sql, parameter order, processors)

    def _prepare(self, dialect):
        statement = DIALECT_INSERT[dialect.name](self.table)
        if self.on_conflict is not None:
            statement = self.on_conflict(statement)
        compiled = statement.compile(dialect=dialect, column_keys=self.columns,
                                     for_executemany=True)  # no RETURNING of the ids
        order = list(compiled.positiontup) if dialect.positional else list(self.columns)
        processors = {name: _column_processor(self.table.c[name].type, dialect)
                      for name in self.columns}
        prepared = (str(compiled), order, processors)
        self._prepared[dialect.name] = prepared
        return prepared

    def execute(self, session, count, **values):
        """Insert `count` rows; returns how many the database stored (a conflict may skip
        some). `values` maps each column to its values, to one value for all rows, or to
        a function of the dialect giving the converted values."""
        if not count:
            return 0
        session.flush()  # pending objects first, as any other statement would autoflush
        connection = session.connection()
        dialect = connection.dialect
        sql, order, processors = self._prepared.get(dialect.name) or self._prepare(dialect)
        columns = [_column(values[name], processors[name], count, dialect) for name in order]
        rows = zip(*columns, strict=True)
        parameters = list(rows) if dialect.positional else [  # psycopg: %(name)s
            dict(zip(order, row, strict=True)) for row in rows]
        driver_connection = connection.connection.driver_connection
        cursor = connection.connection.cursor()
        events = connection.dispatch
        if events.before_cursor_execute:  # listeners (statement counters, tracing) see it
            events.before_cursor_execute(connection, cursor, sql, parameters, None, True)
        try:
            cursor.executemany(sql, parameters)
            if events.after_cursor_execute:
                events.after_cursor_execute(connection, cursor, sql, parameters, None, True)
            return cursor.rowcount
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(error, dialect, sql, parameters, driver_connection, cursor,
                               on_disconnect=connection.invalidate) from error
        finally:
            cursor.close()


def _column_processor(column_type, dialect):
    """A function from a column's values to what the driver gets, or None for as they
    are: the type's `bind_column(values, dialect)` if it has one, else its bind processor
    on each value."""
    bind_column = getattr(column_type, "bind_column", None)
    if bind_column is not None:
        return lambda values: bind_column(values, dialect)
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return None if process is None else lambda values: list(map(process, values))


def _column(values, process, count, dialect):
    """One column's values for `count` rows: a sequence, one value repeated, or a function
    of the dialect giving them already converted."""
    if callable(values):
        return values(dialect)
    if isinstance(values, list | tuple):
        return values if process is None else process(values)
    return repeat(values if process is None else process([values])[0], count)


# The insert() with ON CONFLICT of each dialect we run on.
DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
