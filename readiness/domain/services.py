"""A service's details as a person or a catalog gives them: the rules each field keeps.

Pure: the commands that store services and the catalog import both check here.
"""

from .inputs import SLUG_PATTERN, InvalidInput, is_http_link, single_line_name

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
