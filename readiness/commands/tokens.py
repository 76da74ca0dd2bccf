"""Use cases for API tokens: make one (shown once), revoke it, note its use."""

import secrets
from datetime import timedelta

from sqlalchemy import update

from ..audit import AuditAction, record
from ..domain.inputs import single_line_name
from ..domain.tokens import TOKEN_PREFIX, VISIBLE_CHARACTERS, digest
from ..extensions import db
from ..models import ApiToken, utcnow

# Bookkeeping, not a change anyone made: refreshed at most this often, and not audited.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def use_is_news(row, now=None):
    """True when a use of the token (a find_token row) is worth writing down: its last
    use is unknown or older than the resolution (a minute)."""
    now = now or utcnow()
    return row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION


def note_use(row, session, now=None):
    """Remember when a token (a queries.tokens.find_token row) was last used, to the
    minute, in `session` (faults.bookkeeping's, after the response is made: see
    api.views.note_token_use). Bookkeeping, not a change anyone made: not audited."""
    now = now or utcnow()
    if not use_is_news(row, now):
        return
    session.execute(update(ApiToken).where(ApiToken.id == row.token_id)
                    .values(last_used_at=now))
