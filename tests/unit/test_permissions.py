"""Who may do what: every predicate over every role, as one table."""

from types import SimpleNamespace

import pytest

from readiness.domain import permissions

TEAM, OTHER = SimpleNamespace(id=1), SimpleNamespace(id=2)


def person(*roles, teams=(), user_id=10):
    return SimpleNamespace(id=user_id, is_authenticated=True, teams=list(teams),
                           is_admin="admin" in roles, is_consultant="consultant" in roles,
                           is_ops_lead="ops_lead" in roles)


PEOPLE = {
    "anonymous": SimpleNamespace(is_authenticated=False),
    "owner": person(teams=[TEAM]),
    "other_team": person(teams=[OTHER]),
    "consultant": person("consultant"),
    "ops_lead": person("ops_lead"),
    "admin": person("admin"),
}
SERVICE = SimpleNamespace(team_id=1, state="self_managed", team=TEAM)


def review(state):
    return SimpleNamespace(state=state, service=SERVICE)


# predicate -> the people it allows; everyone else is refused.
TABLE = [
    ("manage accounts", lambda u: permissions.can_manage_accounts(u), {"admin"}),
    ("create a service", lambda u: permissions.can_create_service(u, TEAM), {"owner", "admin"}),
    ("edit the service", lambda u: permissions.can_edit_service(u, SERVICE),
     {"owner", "admin"}),
    ("start a review", lambda u: permissions.can_start_review(u, SERVICE), {"owner", "admin"}),
    ("edit a draft", lambda u: permissions.can_edit_review(u, review("draft")),
     {"owner", "admin"}),
    ("edit a submitted review", lambda u: permissions.can_edit_review(u, review("submitted")),
     set()),
    ("withdraw a draft", lambda u: permissions.can_withdraw_review(u, review("draft")),
     {"owner", "admin"}),
    ("decide a submitted review",
     lambda u: permissions.can_decide_review(u, review("submitted")), {"consultant"}),
    ("decide a draft", lambda u: permissions.can_decide_review(u, review("draft")), set()),
    ("change support", lambda u: permissions.can_change_support(u), {"ops_lead", "admin"}),
    ("accept a handoff", lambda u: permissions.can_accept_handoff(u), {"ops_lead"}),
    ("push facts for every service",
     lambda u: permissions.can_push_facts_for_every_service(u), {"ops_lead", "admin"}),
]


@pytest.mark.parametrize(("action", "predicate", "allowed"), TABLE, ids=[t[0] for t in TABLE])
@pytest.mark.parametrize("who", PEOPLE)
def test_who_may_do_what(action, predicate, allowed, who):
    assert predicate(PEOPLE[who]) is (who in allowed)


def test_a_retired_service_takes_no_new_review():
    retired = SimpleNamespace(team_id=1, state="retired")
    assert not permissions.can_start_review(PEOPLE["owner"], retired)


@pytest.mark.parametrize(("answered", "may_approve", "refusal"), [
    (set(), True, None), ({99}, True, None), ({10}, False, permissions.SEPARATION_OF_DUTIES)])
def test_separation_of_duties(answered, may_approve, refusal):
    consultant = PEOPLE["consultant"]
    assert permissions.can_approve_review(consultant, review("submitted"), answered) \
        is may_approve
    assert permissions.approval_refusal(consultant, review("submitted"), answered) == refusal


@pytest.mark.parametrize(("ops_lead", "admin", "in_team", "allowed"), [
    (False, False, False, False), (False, False, True, True), (True, False, False, True),
    (False, True, False, True)])
def test_who_may_push_facts(ops_lead, admin, in_team, allowed):
    assert permissions.can_push_facts(is_ops_lead=ops_lead, is_admin=admin,
                                      in_owning_team=in_team) is allowed
