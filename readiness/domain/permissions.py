"""Who may do what. Pure: each predicate takes a user (or None for anonymous) and a thing.

Every write checks one of these on the server; pages use the same predicates
to decide which actions to offer.
"""

EDITABLE_REVIEW_STATES = ("draft", "changes_requested")


def is_signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_member(user, team_id) -> bool:
    return is_signed_in(user) and any(team.id == team_id for team in user.teams)


def is_admin(user) -> bool:
    return is_signed_in(user) and user.is_admin


def can_manage_accounts(user) -> bool:
    """Users, teams and checklist status pages are for admins."""
    return is_admin(user)


def can_create_service(user, team=None) -> bool:
    """Admins for any team; a team member for their own teams (any team when `team` is None)."""
    if is_admin(user):
        return True
    if team is None:
        return is_signed_in(user) and bool(user.teams)
    return is_member(user, team.id)


def can_edit_service(user, service) -> bool:
    return is_admin(user) or is_member(user, service.team_id)


def can_start_review(user, service) -> bool:
    return can_edit_service(user, service) and service.state != "retired"


def can_edit_review(user, review) -> bool:
    """The owning team (and admins) fill in a review while it is a draft or sent back."""
    return review.state in EDITABLE_REVIEW_STATES and can_edit_service(user, review.service)


def can_submit_review(user, review) -> bool:
    return can_edit_review(user, review)


def can_withdraw_review(user, review) -> bool:
    return review.state == "draft" and can_edit_service(user, review.service)


def can_request_waiver(user, review) -> bool:
    """The team that fills a review in asks for its waivers."""
    return can_edit_review(user, review)


def can_decide_waiver(user, waiver) -> bool:
    """Consultants decide a requested waiver while its review is still being filled in
    (not one they asked for: domain.waivers.check_decision refuses that)."""
    return (is_signed_in(user) and user.is_consultant and waiver.state == "requested"
            and waiver.review.state in EDITABLE_REVIEW_STATES)


def can_withdraw_waiver(user, waiver) -> bool:
    return (waiver.state in ("requested", "granted")
            and can_edit_review(user, waiver.review))


def can_decide_review(user, review) -> bool:
    """Consultants decide submitted reviews (approve or request changes)."""
    return is_signed_in(user) and user.is_consultant and review.state == "submitted"


SEPARATION_OF_DUTIES = ("You answered items of this review, so another consultant must "
                        "approve it (separation of duties).")


def can_approve_review(user, review, answered_by_ids) -> bool:
    """Separation of duties: a consultant who answered items of a review cannot approve it."""
    return can_decide_review(user, review) and user.id not in answered_by_ids


def approval_refusal(user, review, answered_by_ids) -> str | None:
    """Why a consultant who may decide `review` may not approve it, or None."""
    if can_decide_review(user, review) and user.id in answered_by_ids:
        return SEPARATION_OF_DUTIES
    return None


def can_change_support(user) -> bool:
    """Ops leads and admins launch, hand back and retire; handoffs need an ops lead
    (the lifecycle guards say so and name it when it is missing)."""
    return is_signed_in(user) and (user.is_ops_lead or user.is_admin)


def can_start_campaign(user) -> bool:
    """Ops leads and admins roll a checklist out over the organisation."""
    return is_signed_in(user) and (user.is_ops_lead or user.is_admin)


def can_accept_handoff(user) -> bool:
    """Only an ops lead accepts a service into Ops management."""
    return is_signed_in(user) and user.is_ops_lead


def can_manage_subscription(user, subscription) -> bool:
    """Admins and ops leads see and act on every subscription; others on their own."""
    return is_signed_in(user) and (user.is_admin or user.is_ops_lead
                                   or subscription.created_by_id == user.id)


def sees_every_subscription(user) -> bool:
    return is_signed_in(user) and (user.is_admin or user.is_ops_lead)


def can_read_metrics(*, is_ops_lead: bool, is_admin: bool) -> bool:
    """GET /metrics tells the organisation's figures: ops leads' and admins' tokens (or
    the METRICS_TOKEN a Prometheus is given)."""
    return is_ops_lead or is_admin


def can_push_facts(*, is_ops_lead: bool, is_admin: bool, in_owning_team: bool) -> bool:
    """Telemetry for a service comes from its team's tokens, or an ops lead's or admin's.

    Takes the token user's rights as read by the API's one statement (api.views), not a
    loaded user: monitors push often."""
    return is_ops_lead or is_admin or in_owning_team


def can_push_facts_for_every_service(user) -> bool:
    """An ops lead's or admin's token pushes facts for any service, not only their teams'."""
    return is_signed_in(user) and can_push_facts(is_ops_lead=user.is_ops_lead,
                                                 is_admin=user.is_admin, in_owning_team=False)


def can_revoke_token(user, token) -> bool:
    return is_signed_in(user) and (user.is_admin or token.user_id == user.id)
