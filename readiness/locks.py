"""Work that must not run twice at once for the same key, across workers and servers.

On PostgreSQL a transaction-scoped advisory lock (released at commit or rollback); on
SQLite a write request already holds the database's one write lock from its first
statement (BEGIN IMMEDIATE, database.py), which serialises it with every other writer.
"""

import hashlib

from sqlalchemy import func, select

from .extensions import db

# Names the lock space, so readiness's locks never meet another application's.
NAMESPACE = 7_311_046


def hold(kind, key):
    """Wait until no other transaction holds (`kind`, `key`), then hold it until this
    transaction ends."""
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        session.connection()  # begins the transaction: on SQLite, the write lock
        return
    digest = hashlib.sha256(f"{kind}\0{key}".encode()).digest()
    number = int.from_bytes(digest[:4], "big", signed=True)
    session.execute(select(func.pg_advisory_xact_lock(NAMESPACE, number)))
