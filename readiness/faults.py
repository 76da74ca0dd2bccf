"""What a database error means for the person waiting: the faces answer a busy database
with 503 and Retry-After instead of an error page."""

from sqlalchemy.exc import OperationalError


def is_busy(error):
    """True for SQLite's "database is locked": another write held the lock too long."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)
