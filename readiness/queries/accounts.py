"""Who is signing in: the account behind an email and password, a session's user, and
how long an address must wait after failed sign-ins."""

from functools import cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import sign_in
from ..extensions import db
from ..models import LoginAttempt, User, utcnow


@cache
def _stand_in_hash(method):
    """A hash of no one's password, made the way real ones are (see user_with_password)."""
    return generate_password_hash("no one's password", method=method)


def user_with_password(email, password):
    """The user with `email` whose password is `password`, or None; a disabled user is
    returned too (the caller says so, to the one who knows the password).

    An unknown email costs the same password check as a known one, so the time an answer
    takes does not tell whether an account exists."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_stand_in_hash(current_app.config["PASSWORD_HASH_METHOD"]),
                            password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def session_user(session_id):
    """The enabled user a session names as "<id>:<nonce>", or None once the nonce changed."""
    user_id, _, nonce = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 10:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.is_disabled or user.session_nonce != nonce:
        return None
    return user


def sign_in_wait(address, limit=sign_in.ATTEMPTS_PER_WINDOW, now=None):
    """0 when `address` may try to sign in, else the seconds it must wait."""
    now = now or utcnow()
    failures, oldest = db.session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.address == address, LoginAttempt.attempted_at > now - sign_in.WINDOW)
    ).one()
    return sign_in.seconds_to_wait(failures, oldest, now, limit)
