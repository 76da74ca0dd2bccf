"""Use cases for teams and users."""

import secrets

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..audit import AuditAction, record
from ..extensions import db
from ..models import ROLES, Team, User
from .common import EMAIL_PATTERN, MIN_PASSWORD_LENGTH, SLUG_PATTERN, InvalidInput


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_team(*, slug, name, actor=None):
    """Add a team.

    :raise InvalidInput: for a bad or taken slug, or an empty name.
    """
    slug, name = slug.strip(), name.strip()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(f"'{slug}' is not a slug: use lowercase letters, digits and '-'")
    if not name:
        raise InvalidInput("a team needs a name")
    if db.session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise InvalidInput(f"a team '{slug}' already exists")
    team = Team(slug=slug, name=name)
    db.session.add(team)
    record(AuditAction.TEAM_CREATE, actor=actor, subject=team, slug=slug, name=name)
    return team


def create_user(*, email, name, password, roles=(), team_slugs=(), actor=None,
                min_password_length=MIN_PASSWORD_LENGTH):
    """Add a user with `roles` and membership of the teams named by `team_slugs`.

    :raise InvalidInput: for a bad or taken email, an unknown role or team, a short password.
    """
    email, name = email.strip().lower(), name.strip()
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput(f"'{email}' is not an email address")
    if not name:
        raise InvalidInput("a user needs a name (--name)")
    if len(password) < min_password_length:
        raise InvalidInput(f"the password must have at least {min_password_length} characters")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(f"unknown role {', '.join(unknown)}: roles are {', '.join(ROLES)}")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise InvalidInput(f"a user with the email {email} already exists")
    teams = list(db.session.scalars(select(Team).where(Team.slug.in_(team_slugs))))
    missing = sorted(set(team_slugs) - {team.slug for team in teams})
    if missing:
        raise InvalidInput(f"no team {', '.join(missing)}: create it first with "
                           f"`flask --app app teams create {missing[0]} --name NAME`")
    user = User(email=email, name=name, password_hash=hash_password(password), teams=teams,
                **{f"is_{role}": role in roles for role in ROLES})
    db.session.add(user)
    record(AuditAction.USER_CREATE, actor=actor, subject=user, email=email, name=name,
           roles=sorted(roles), teams=sorted(team_slugs))
    return user


def rotate_session_nonce(user):
    """End every session of `user` (a copied session cookie stops working)."""
    user.session_nonce = secrets.token_hex(16)
