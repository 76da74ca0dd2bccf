"""Use cases for API tokens: make one (shown once), revoke, and find the one presented."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import OperationalError

from ..audit import AuditAction, record
from ..database import is_busy
from ..extensions import db
from ..models import ApiToken, User, utcnow
from .common import single_line_name

# Not a secret: marks tokens so secret scanners find leaked ones.
TOKEN_PREFIX = "rdy_"  # noqa: S105  # nosec B105
VISIBLE_CHARACTERS = 12
# Bookkeeping, not a change anyone made: refreshed at most this often, and not audited.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, *, name, actor):
    """A new token for `user`: returns (ApiToken, the token text, to be shown once)."""
    name = single_line_name(name, "a token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(30)
    row = ApiToken(user=user, name=name, prefix=token[:VISIBLE_CHARACTERS],
                   digest=digest(token))
    db.session.add(row)
    record(AuditAction.TOKEN_CREATE, actor=actor, subject=row, user=user.email, name=name,
           prefix=row.prefix)
    return row, token


def revoke_token(token, *, actor):
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(AuditAction.TOKEN_REVOKE, actor=actor, subject=token, prefix=token.prefix)


# What authentication needs, as one row and one statement built once: this runs on every
# API call, and building a statement costs more than executing it.
TOKEN_ROW = (select(ApiToken.id.label("token_id"), ApiToken.user_id, ApiToken.revoked_at,
                    ApiToken.last_used_at, User.is_disabled)
             .join(User, User.id == ApiToken.user_id)
             .where(ApiToken.digest == bindparam("digest")))


def may_be_token(presented):
    return bool(presented) and len(presented) <= 200


def find_token(presented):
    """(id, user_id, revoked_at, last_used_at, is_disabled) of the presented token, or None."""
    if not may_be_token(presented):
        return None
    return db.session.execute(TOKEN_ROW, {"digest": digest(presented)}).first()


def note_use(row):
    """Remember when a token was last used (to the minute), and commit that.

    Bookkeeping only: skipped when the database is busy. On SQLite a GET request's
    transaction is deferred, so this write fails at once when another worker wrote since
    the request's first read, which is the norm when concurrent calls all find the
    minute passed; failing the request for it would turn a read into a 503.
    """
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at <= LAST_USED_RESOLUTION:
        return
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == row.token_id)
                           .values(last_used_at=now))
        db.session.commit()
    except OperationalError as error:
        if not is_busy(error):
            raise
        db.session.rollback()
