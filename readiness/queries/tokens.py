"""Finding the API token presented, with what authentication needs of its user."""

from sqlalchemy import bindparam, select, true

from ..domain.tokens import digest, may_be_token
from ..extensions import db
from ..models import ApiToken, Service, User, team_membership

# What authentication needs, as one row; built once, as it runs on every API call.
TOKEN_ROW = (select(ApiToken.id.label("token_id"), ApiToken.user_id, ApiToken.revoked_at,
                    ApiToken.last_used_at, User.is_disabled)
             .join(User, User.id == ApiToken.user_id)
             .where(ApiToken.digest == bindparam("digest")))


def find_token(presented):
    """(token_id, user_id, revoked_at, last_used_at, is_disabled) of the presented token,
    or None."""
    if not may_be_token(presented):
        return None
    return db.session.execute(TOKEN_ROW, {"digest": digest(presented)}).first()


def find_token_with_roles(presented):
    """The presented token's row (as find_token) with its user's is_ops_lead and
    is_admin, or None."""
    if not may_be_token(presented):
        return None
    return db.session.execute(TOKEN_ROW.add_columns(User.is_ops_lead, User.is_admin),
                              {"digest": digest(presented)}).first()


# The token, its user's name and rights on the service, and the service, in one statement:
# monitors push facts often, and this replaces four ORM loads (token, user, service, teams).
def _token_for_service():
    token = TOKEN_ROW.add_columns(User.name, User.email, User.is_ops_lead,
                                  User.is_admin).subquery()
    service = select(Service.id.label("service_id"), Service.slug, Service.team_id).where(
        Service.slug == bindparam("slug")).subquery()
    in_team = (select(team_membership.c.user_id)
               .where(team_membership.c.user_id == token.c.user_id,
                      team_membership.c.team_id == service.c.team_id)
               .exists().label("in_owning_team"))
    return (select(token, service, in_team)
            .select_from(token.outerjoin(service, true())))


TOKEN_FOR_SERVICE = _token_for_service()


def find_token_for_service(presented, slug):
    """The presented token's row (as find_token) with its user's name, email and rights,
    `in_owning_team` for the service `slug`, and that service's id and slug (None when
    there is no such service); None for an unknown token."""
    if not may_be_token(presented):
        return None
    return db.session.execute(TOKEN_FOR_SERVICE,
                              {"digest": digest(presented), "slug": slug}).first()
