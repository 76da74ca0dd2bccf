"""Use cases for services: add one, change its details."""


from sqlalchemy import select

from ..audit import AuditAction, record
from ..domain.inputs import SLUG_PATTERN, InvalidInput, is_http_link, single_line_name
from ..extensions import db
from ..models import Service

MAX_SLUG = 64
MAX_NAME = 120
MAX_DESCRIPTION = 20_000
MAX_URL = 500
TIERS = (1, 2, 3)
LINK_FIELDS = ("repo_url", "runbook_url", "dashboard_url")
LINK_LABELS = {"repo_url": "repository", "runbook_url": "runbook", "dashboard_url": "dashboard"}
# What update_service may change; slug and team are fixed, the state moves by lifecycle.
EDITABLE_FIELDS = ("name", "tier", "description", *LINK_FIELDS)



def check_slug(slug):
    """The slug, stripped.

    :raise InvalidInput: unless it is a slug of at most MAX_SLUG characters.
    """
    slug = (slug or "").strip()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            field="slug", message=f"'{slug}' is not a slug: use lowercase letters, digits "
                                  "and '-', starting with a letter or digit")
    if len(slug) > MAX_SLUG:
        raise InvalidInput(
            field="slug", message=f"the slug is too long (at most {MAX_SLUG} characters)")
    return slug


def check_name(name):
    """The name, stripped.

    :raise InvalidInput: for an empty or too long name.
    """
    return single_line_name(name, "a service", max_length=MAX_NAME)


def check_tier(tier):
    """:raise InvalidInput: unless `tier` is 1, 2 or 3."""
    if isinstance(tier, bool) or tier not in TIERS:
        raise InvalidInput(
            field="tier", message="the tier is 1 (most critical), 2 or 3")
    return tier


def check_description(description):
    """The Markdown description with plain newlines ("" when blank).

    :raise InvalidInput: when it is too long.
    """
    description = (description or "").replace("\r\n", "\n")
    if not description.strip():
        return ""
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            field="description",
            message=f"the description is too long (at most {MAX_DESCRIPTION:,} characters)")
    return description


def check_link(field, url):
    """The link stripped, or None when empty.

    :raise InvalidInput: unless it is a full http:// or https:// address.
    """
    url = (url or "").strip()
    if not url:
        return None
    label = LINK_LABELS[field]
    if not is_http_link(url):
        raise InvalidInput(
            field=field, message=f"the {label} link must be a full http:// or https:// address")
    if len(url) > MAX_URL:
        raise InvalidInput(
            field=field, message=f"the {label} link is too long (at most {MAX_URL} characters)")
    return url


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
    return changes
