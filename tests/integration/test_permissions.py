"""Every POST route against every role: allowed ones succeed, the rest change nothing.

The routes come from the app's own URL map, so a new POST route without a row
here fails `test_every_post_route_has_a_row`.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from readiness import create_app
from readiness.commands import notifications
from readiness.commands.tokens import create_token
from readiness.commands.waivers import request_waiver
from readiness.extensions import db
from readiness.models import utcnow

from ..factories import (
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_trial,
    make_user,
)

ROLES = ("anonymous", "owner", "other_team", "consultant", "ops_lead", "admin")
SIGNED_IN = set(ROLES) - {"anonymous"}
# Not part of the record of changes: failed sign-ins, pruned as they age.
UNTRACKED_TABLES = {"login_attempt"}


@dataclass
class Case:
    url: str
    allowed: set
    data: dict = field(default_factory=dict)


def cases(w):
    """The request for each POST endpoint, given the world `w` built below."""
    draft, submitted = w["draft"], w["submitted"]
    return {
        "auth.login": Case("/login", set(ROLES),
                           {"email": "owner@example.com", "password": "correct horse"}),
        "auth.logout": Case("/logout", SIGNED_IN),
        "services.create": Case("/services/new", {"owner", "admin"},
                                {"slug": "fresh", "name": "Fresh", "team": "owners",
                                 "tier": "2"}),
        "services.edit": Case("/services/svc/edit", {"owner", "admin"},
                              {"name": "Renamed", "tier": "1", "description": "New words"}),
        # svc has open launch reviews (a second is refused), none of handoff.
        "reviews.start": Case("/services/svc/reviews", {"owner", "admin"},
                              {"checklist_version_id": str(w["handoff"].id)}),
        "reviews.save": Case(f"/reviews/{draft.id}/answers", {"owner", "admin"},
                             {"status-pager-load": "met", "evidence-pager-load": "Fine."}),
        "reviews.withdraw": Case(f"/reviews/{draft.id}/withdraw", {"owner", "admin"},
                                 {"confirm": "yes"}),
        "reviews.decide": Case(f"/reviews/{submitted.id}/decision", {"consultant"},
                               {"verdict": "request_changes", "comment": "More, please."}),
        "lifecycle.launch": Case("/services/ready/launch", {"ops_lead", "admin"}),
        "lifecycle.hand_off": Case("/services/selfm/hand-off", {"ops_lead"},
                                   {"ops_hours": "4"}),
        "lifecycle.record_trial": Case("/services/selfm/trials", {"ops_lead"}, {
            "started_on": w["trial_from"], "ended_on": w["trial_to"], "shadow": "Lee",
            "pages_total": "3", "pages_actionable": "2", "outcome": "passed"}),
        # selfm has no launch approval: its gate refuses, so an override means something.
        "lifecycle.override": Case("/services/selfm/override", {"ops_lead"},
                                   {"hours": "4", "reason": "Hotfix."}),
        "lifecycle.set_capacity": Case("/ledger/capacity", {"ops_lead"}, {"hours": "40"}),
        "lifecycle.hand_back": Case("/services/opsm/hand-back", {"ops_lead", "admin"},
                                    {"reason": "Too many pages.",
                                     "return_conditions": "A quiet month."}),
        "lifecycle.retire": Case("/services/svc/retire", {"ops_lead", "admin"},
                                 {"reason": "Replaced by billing.", "confirm": "yes"}),
        "profile.create_token": Case("/profile/tokens", SIGNED_IN, {"name": "ci"}),
        "profile.change_password": Case("/profile/password", SIGNED_IN, {
            "current_password": "correct horse", "new_password": "a brand new password",
            "repeat_password": "a brand new password"}),
        "profile.revoke_token": Case(f"/profile/tokens/{w['token'].id}/revoke",
                                     {"owner", "admin"}),
        "admin.new_user": Case("/admin/users/new", {"admin"},
                               {"email": "new@example.com", "name": "New Person",
                                "password": "long enough pw", "teams": "owners"}),
        "admin.edit_user": Case(f"/admin/users/{w['target'].id}/edit", {"admin"},
                                {"name": "Renamed Person", "roles": "consultant"}),
        "admin.new_team": Case("/admin/teams/new", {"admin"},
                               {"slug": "fresh-team", "name": "Fresh team"}),
        "notifications.create": Case("/subscriptions/", {"owner", "ops_lead", "admin"},
                                     {"kind": "email", "target": "ops@example.com",
                                      "teams": "owners"}),
        "notifications.test": Case(f"/subscriptions/{w['subscription'].id}/test",
                                   {"owner", "ops_lead", "admin"}),
        "notifications.send_again": Case(
            f"/subscriptions/{w['subscription'].id}/deliveries/{w['delivery'].id}/again",
            {"owner", "ops_lead", "admin"}),
        "waivers.request_waiver": Case(f"/reviews/{draft.id}/waivers", {"owner", "admin"},
                                       {"item": "alert-runbooks", "reason": "Not yet.",
                                        "control": "Watched daily.",
                                        "expires_on": w["waiver_until"]}),
        # Asked for by the owner: a consultant decides it (never its requester).
        "waivers.decide": Case(f"/waivers/{w['waiver'].id}/decision", {"consultant"},
                               {"verdict": "grant"}),
        "waivers.withdraw": Case(f"/waivers/{w['waiver'].id}/withdraw", {"owner", "admin"}),
        "campaigns.create": Case("/campaigns/", {"ops_lead", "admin"}, {
            "title": "Runbooks everywhere", "checklist_id": "launch-readiness",
            "min_version": "1", "deadline": w["waiver_until"]}),
        "admin.edit_team": Case(f"/admin/teams/{w['others'].id}/edit", {"admin"},
                                {"name": "Others renamed", "members": str(w["target"].id)}),
    }


def post_endpoints():
    """Every POST endpoint of the web UI. The API's (bearer tokens, no sessions) are
    walked the same way by tests/integration/test_api.py."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "AUTO_MIGRATE": False,
                      "SECRET_KEY": "x"})
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and not rule.rule.startswith("/api/")})


ENDPOINTS = post_endpoints()


def test_every_post_route_has_a_row():
    world = {"draft": None, "submitted": None, "version": None, "target": None,
             "others": None, "token": None, "handoff": None, "subscription": None,
             "delivery": None, "waiver": None, "waiver_until": None, "trial_from": None,
             "trial_to": None}

    class Anything:
        id = 0

    world = {key: Anything() for key in world}
    assert sorted(cases(world)) == ENDPOINTS


@pytest.fixture
def world(app):
    owners = make_team(slug="owners", name="Owners")
    others = make_team(slug="others", name="Others")
    owner = make_user(email="owner@example.com", teams=[owners])
    make_user(email="other_team@example.com", teams=[others])
    make_user(email="consultant@example.com", roles=("consultant",))
    make_user(email="ops_lead@example.com", roles=("ops_lead",))
    make_user(email="admin@example.com", roles=("admin",))
    target = make_user(email="target@example.com")
    service = make_service(slug="svc", team=owners)
    version = make_checklist_version()
    draft = make_review(service=service, checklist_version=version)
    submitted = make_review(service=service, checklist_version=version, state="submitted",
                            answers=[("pager-load", "met", "ok")])
    handoff = make_checklist_version("handoff-readiness", stage="handoff")
    make_review(service=make_service(slug="ready", team=owners), checklist_version=version,
                state="approved")
    selfm = make_service(slug="selfm", team=owners, state="self_managed")
    make_review(service=selfm, checklist_version=handoff, state="approved")
    make_trial(selfm)
    make_service(slug="opsm", team=owners, state="ops_managed")
    db.session.commit()
    token, _ = create_token(owner, name="owner's", actor=owner)
    subscription, _ = notifications.subscribe(owner, kind="email", target="me@example.com",
                                              refusal=lambda _url: None)
    delivery = notifications.send_test(subscription, "http://readiness.test")
    delivery.state = "delivered"
    until = (utcnow().date() + timedelta(days=20)).isoformat()
    waiver = request_waiver(draft, actor=owner, item_id="pager-load", reason="Not yet.",
                            control="Daily look.", expires_on=until)
    db.session.commit()
    today = utcnow().date()
    return {"trial_from": (today - timedelta(days=9)).isoformat(),
            "trial_to": (today - timedelta(days=2)).isoformat(),
            "waiver": waiver, "waiver_until": until, "draft": draft, "submitted": submitted,
            "version": version, "target": target,
            "others": others, "token": token, "handoff": handoff,
            "subscription": subscription, "delivery": delivery}


def snapshot():
    """Every row of every table the app writes, in a stable order."""
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name in UNTRACKED_TABLES:
            continue
        result = db.session.execute(select(table).order_by(*table.primary_key.columns))
        rows[table.name] = [tuple(row) for row in result]
    return rows


def is_refusal(response):
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_post_route_permissions(app, client, world, endpoint, role):
    case = cases(world)[endpoint]
    if role != "anonymous":
        response = client.post("/login", data={"email": f"{role}@example.com",
                                               "password": "correct horse"})
        assert response.status_code == 302
    before = snapshot()
    response = client.post(case.url, data=case.data)
    db.session.expire_all()
    if role in case.allowed:
        assert response.status_code in (200, 302, 303), (response.status_code,
                                                    response.get_data(as_text=True)[:2000])
        assert not is_refusal(response) or endpoint == "auth.logout"
        assert snapshot() != before, "an allowed write changed nothing"
    else:
        assert is_refusal(response), (response.status_code, response.headers.get("Location"))
        assert snapshot() == before, "a refused write changed the database"
