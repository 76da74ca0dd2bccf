"""Use cases for services."""

from sqlalchemy import select

from ..audit import AuditAction, record
from ..extensions import db
from ..models import Service
from .common import SLUG_PATTERN, InvalidInput


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
