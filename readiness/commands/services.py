"""Use cases for services: add one, change its details."""


from sqlalchemy import select

from ..audit import AuditAction, record
from ..domain.inputs import InvalidInput
from ..domain.services import (
    EDITABLE_FIELDS,
    LINK_FIELDS,
    check_description,
    check_link,
    check_name,
    check_slug,
    check_tier,
)
from ..extensions import db
from ..models import Service
from .campaigns import join_campaigns
from .worklists import refresh_worklists


def create_service(*, slug, name, team, tier=2, description="", repo_url=None,
                   runbook_url=None, dashboard_url=None, actor=None):
    """Add a service owned by `team`, in development.

    :raise InvalidInput: for a bad or taken slug, an empty name, a tier outside
        1 to 3, a description too long or a link that is not http(s).
    """
    slug = check_slug(slug)
    values = {
        "name": check_name(name),
        "tier": check_tier(tier),
        "description": check_description(description),
        "repo_url": check_link("repo_url", repo_url),
        "runbook_url": check_link("runbook_url", runbook_url),
        "dashboard_url": check_link("dashboard_url", dashboard_url),
    }
    if db.session.scalar(select(Service.id).where(Service.slug == slug)) is not None:
        raise InvalidInput(
            field="slug", message=f"a service '{slug}' already exists")
    service = Service(slug=slug, team=team, **values)
    db.session.add(service)
    record(AuditAction.SERVICE_CREATE, actor=actor, subject=service, slug=slug,
           team=team.slug, **values)
    join_campaigns(service)  # campaigns whose filter it matches take it in
    return service


_CHECKS = {
    "name": check_name,
    "tier": check_tier,
    "description": check_description,
    **{field: (lambda url, field=field: check_link(field, url)) for field in LINK_FIELDS},
}


def update_service(service, *, actor, **fields):
    """Change a service's name, tier, description or links; returns what changed.

    Only changed values are stored and audited, as {field: {"old": …, "new": …}};
    nothing changed means no audit entry.

    :raise TypeError: for a field that cannot be edited (slug, team, state …).
    :raise InvalidInput: for a value create_service would refuse too.
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise TypeError(f"update_service cannot change {', '.join(unknown)}")
    new_values = {field: _CHECKS[field](value) for field, value in fields.items()}
    changes = {}
    for field, new in new_values.items():
        old = getattr(service, field)
        if old != new:
            changes[field] = {"old": old, "new": new}
            setattr(service, field, new)
    if changes:
        record(AuditAction.SERVICE_UPDATE, actor=actor, subject=service, **changes)
    db.session.flush()
    if "tier" in changes:
        refresh_worklists([service.id])  # a more critical tier asks for a re-review
    return changes
