"""Use cases. Each changes objects, writes its audit entry and flushes — never commits,
so several compose into one transaction and a failure rolls back all of them.
"""

import re
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from . import checklists
from .audit import AuditAction, record
from .extensions import db
from .models import ROLES, ChecklistVersion, Service, Team, User

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(checklists.SLUG_PATTERN)
MIN_PASSWORD_LENGTH = 8


class InvalidInput(ValueError):
    """Input a person must correct; the message says what and how."""


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


def create_service(*, slug, name, team, tier=2, actor=None, **links):
    """Add a service owned by `team`, in development.

    :raise InvalidInput: for a bad or taken slug, an empty name or a tier outside 1 to 3.
    """
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(f"'{slug}' is not a slug: use lowercase letters, digits and '-'")
    if not name.strip():
        raise InvalidInput("a service needs a name")
    if tier not in (1, 2, 3):
        raise InvalidInput("the tier is 1 (most critical), 2 or 3")
    if db.session.scalar(select(Service.id).where(Service.slug == slug)) is not None:
        raise InvalidInput(f"a service '{slug}' already exists")
    service = Service(slug=slug, name=name.strip(), team=team, tier=tier, **links)
    db.session.add(service)
    record(AuditAction.SERVICE_CREATE, actor=actor, subject=service, slug=slug, name=name,
           team=team.slug, tier=tier, **links)
    return service


def synced_versions():
    """The latest synced version of each checklist, for `checklists.load_all`."""
    latest = (
        select(ChecklistVersion.checklist_id, func.max(ChecklistVersion.version).label("v"))
        .group_by(ChecklistVersion.checklist_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(ChecklistVersion).join(
            latest,
            (ChecklistVersion.checklist_id == latest.c.checklist_id)
            & (ChecklistVersion.version == latest.c.v),
        )
    )
    return {
        row.checklist_id: checklists.SyncedVersion(row.version, row.content_hash, row.stage)
        for row in rows
    }


@dataclass
class SyncResult:
    added: list[ChecklistVersion] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[checklists.ChecklistError] = field(default_factory=list)


def sync_checklists(paths, *, actor=None):
    """Store each valid checklist file whose version is new; skip invalid files.

    An invalid file never replaces the last good version: its errors are returned
    and the database keeps what it had.
    """
    known = synced_versions()
    result = SyncResult()
    for file in checklists.load_all(checklists.discover(paths), known):
        if not file.is_valid:
            result.errors.extend(file.errors)
            continue
        checklist = file.checklist
        if checklist.id in known and known[checklist.id].version == checklist.version:
            result.unchanged.append(checklist.id)
            continue
        version = ChecklistVersion(
            checklist_id=checklist.id, version=checklist.version, stage=checklist.stage,
            title=checklist.title, valid_for_days=checklist.valid_for_days,
            content=checklist.content(), content_hash=checklist.content_hash(),
            source_path=file.path,
        )
        db.session.add(version)
        record(AuditAction.CHECKLIST_SYNC, actor=actor, subject=version,
               checklist=checklist.id, version=checklist.version,
               content_hash=version.content_hash)
        result.added.append(version)
    return result
