"""Use cases for teams and users."""

import secrets

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import generate_password_hash

from ..audit import AuditAction, record
from ..domain import sign_in as sign_in_rules
from ..domain.inputs import (
    EMAIL_PATTERN,
    MIN_PASSWORD_LENGTH,
    SLUG_PATTERN,
    InvalidInput,
    single_line_name,
)
from ..extensions import db
from ..models import ROLES, LoginAttempt, Team, User, utcnow

MAX_PASSWORD_LENGTH = 1024



def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_team(*, slug, name, actor=None, source=None):
    """Add a team (`source` names where it came from in its audit entry, e.g. "catalog").

    :raise InvalidInput: for a bad or taken slug, or an empty name.
    """
    slug = slug.strip()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            f"'{slug}' is not a slug: use lowercase letters, digits and '-'", "slug")
    name = single_line_name(name, "a team")
    if db.session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise InvalidInput(f"a team '{slug}' already exists", "slug")
    team = Team(slug=slug, name=name)
    db.session.add(team)
    record(AuditAction.TEAM_CREATE, actor=actor, subject=team, slug=slug, name=name,
           **({"source": source} if source else {}))
    return team


def create_user(*, email, name, password, roles=(), team_slugs=(), actor=None,
                min_password_length=MIN_PASSWORD_LENGTH):
    """Add a user with `roles` and membership of the teams named by `team_slugs`.

    :raise InvalidInput: for a bad or taken email, an unknown role or team, a short password.
    """
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput(f"'{email}' is not an email address", "email")
    name = single_line_name(name, "a user")
    _check_password(password, min_password_length)
    _check_roles(roles)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise InvalidInput(f"a user with the email {email} already exists", "email")
    teams = _teams_named(team_slugs)
    user = User(email=email, name=name, password_hash=hash_password(password), teams=teams,
                **{f"is_{role}": role in roles for role in ROLES})
    db.session.add(user)
    record(AuditAction.USER_CREATE, actor=actor, subject=user, email=email, name=name,
           roles=sorted(roles), teams=sorted(team_slugs))
    return user


def update_user(user, *, actor, name, roles, team_slugs, is_disabled):
    """Set a user's name, roles, teams and whether they may sign in; record what changed.

    Disabling a user ends their sessions. Returns the changed values (empty: nothing changed).

    :raise InvalidInput: for an empty name, an unknown role or team, or an admin taking
        away their own admin role or disabling themselves.
    """
    name = single_line_name(name, "a user")
    roles = set(roles)
    _check_roles(roles)
    is_self = actor is not None and actor.id == user.id
    if is_self and user.is_admin and "admin" not in roles:
        raise InvalidInput("You cannot remove your own admin role: ask another admin "
                                  "to do it, so the app always keeps one.", "roles")
    if is_self and is_disabled and not user.is_disabled:
        raise InvalidInput("You cannot disable your own account: ask another admin.",
                                  "is_disabled")
    teams = _teams_named(team_slugs)

    changes = {}
    if name != user.name:
        user.name = changes["name"] = name
    new_roles = [role for role in ROLES if role in roles]
    if new_roles != user.roles:
        for role in ROLES:
            setattr(user, f"is_{role}", role in roles)
        changes["roles"] = sorted(new_roles)
    new_slugs = sorted(team.slug for team in teams)
    if new_slugs != sorted(team.slug for team in user.teams):
        user.teams = teams
        changes["teams"] = new_slugs
    if bool(is_disabled) != user.is_disabled:
        user.is_disabled = changes["is_disabled"] = bool(is_disabled)
        if user.is_disabled:
            rotate_session_nonce(user)
    if changes:
        record(AuditAction.USER_UPDATE, actor=actor, subject=user, **changes)
    db.session.flush()
    return changes


def set_password(user, password, *, actor, min_password_length=MIN_PASSWORD_LENGTH):
    """Give `user` a new password and end all their sessions.

    The audit entry says that the password changed, never what it is.

    :raise InvalidInput: for a password that is too short or too long.
    """
    _check_password(password, min_password_length)
    user.password_hash = hash_password(password)
    rotate_session_nonce(user)
    record(AuditAction.USER_UPDATE, actor=actor, subject=user, password_changed=True)
    db.session.flush()


def update_team(team, *, actor, name, member_ids):
    """Set a team's name and members; record what changed. Returns the changed values.

    :raise InvalidInput: for an empty name or an unknown user id.
    """
    name = single_line_name(name, "a team")
    member_ids = set(member_ids)
    members = list(db.session.scalars(select(User).where(User.id.in_(member_ids))))
    unknown = sorted(member_ids - {user.id for user in members})
    if unknown:
        raise InvalidInput(f"no user with the id {', '.join(map(str, unknown))}",
                                  "members")

    changes = {}
    if name != team.name:
        team.name = changes["name"] = name
    before = {user.email for user in team.members}
    after = {user.email for user in members}
    if before != after:
        team.members = sorted(members, key=lambda user: user.name)
        if after - before:
            changes["members_added"] = sorted(after - before)
        if before - after:
            changes["members_removed"] = sorted(before - after)
    if changes:
        record(AuditAction.TEAM_UPDATE, actor=actor, subject=team, **changes)
    db.session.flush()
    return changes


def sign_in(user):
    """`user` signed in (their password was right): the session's nonce, and the record."""
    if not user.session_nonce:
        rotate_session_nonce(user)
    record(AuditAction.USER_LOGIN, actor=user, subject=user)
    db.session.flush()


def sign_out(user):
    """End every session of `user`, and say so in the record."""
    rotate_session_nonce(user)
    record(AuditAction.USER_LOGOUT, actor=user, subject=user)
    db.session.flush()


def note_failed_sign_in(address):
    """Count a failed sign-in from `address` for the throttle; forget old ones."""
    db.session.add(LoginAttempt(address=address))
    db.session.execute(delete(LoginAttempt).where(
        LoginAttempt.attempted_at < utcnow() - sign_in_rules.KEPT_FOR))
    db.session.flush()


def rotate_session_nonce(user):
    """End every session of `user` (a copied session cookie stops working)."""
    user.session_nonce = secrets.token_hex(16)


def _check_password(password, min_length):
    if len(password) < min_length:
        raise InvalidInput(f"the password must have at least {min_length} characters",
                                  "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters", "password")


def _check_roles(roles):
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(
            f"unknown role {', '.join(unknown)}: roles are {', '.join(ROLES)}", "roles")


def _teams_named(team_slugs):
    """The teams with `team_slugs`.

    :raise InvalidInput: naming the slugs that are no team.
    """
    teams = list(db.session.scalars(select(Team).where(Team.slug.in_(team_slugs))))
    missing = sorted(set(team_slugs) - {team.slug for team in teams})
    if missing:
        raise InvalidInput(f"no team {', '.join(missing)}: create it first with "
                                  f"`flask --app app teams create {missing[0]} --name NAME`",
                                  "teams")
    return teams

