"""Use cases for API tokens: make one (shown once), revoke, and find the one presented."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from ..audit import AuditAction, record
from ..extensions import db
from ..models import ApiToken, utcnow
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


def find_token(presented):
    """The token row for the presented text, or None."""
    if not presented or len(presented) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.digest == digest(presented)))


def note_use(token):
    """Remember when a token was last used (to the minute); True when that changed it."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        return True
    return False
