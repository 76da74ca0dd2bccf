"""Campaigns through the web and the worker: starting one, its scope (now and later), the
done rule against a plain count over random organisations, the page, My work and the
deadline reminders."""

import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from readiness.commands import reminders
from readiness.commands.campaigns import create_campaign
from readiness.domain.campaigns import CampaignFilter, CampaignInput
from readiness.extensions import db
from readiness.models import (
    AuditEntry,
    Campaign,
    CampaignService,
    Review,
    Service,
    clock_at,
    utcnow,
)
from readiness.queries.campaigns import campaign_view

from ..factories import (
    SMALL_CHECKLIST,
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_user,
)


def world():
    payments, search = make_team(slug="payments", name="Payments"), make_team(
        slug="search", name="Search")
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    member = make_user(email="member@example.com", teams=[payments])
    v1 = make_checklist_version()
    v2 = make_checklist_version(version=2)
    services = {
        "checkout": make_service(slug="checkout", team=payments, tier=1, state="self_managed"),
        "ledger": make_service(slug="ledger", team=payments, tier=1, state="ops_managed"),
        "refunds": make_service(slug="refunds", team=payments, tier=2),
        "search-api": make_service(slug="search-api", team=search, tier=1,
                                   state="self_managed"),
    }
    db.session.commit()
    return {"lead": lead, "member": member, "v1": v1, "v2": v2, "services": services,
            "payments": payments}


def form(**fields):
    return {"title": "Runbooks for every tier-1 service",
            "description": "Every tier-1 service passes **version 2**.",
            "checklist_id": "launch-readiness", "min_version": "2",
            "deadline": (utcnow().date() + timedelta(days=30)).isoformat(),
            "tiers": ["1"], **fields}


def test_only_good_campaigns_start_and_bad_input_says_what_is_wrong(app, client, login):
    w = world()
    login(w["lead"])
    today = utcnow().date()
    for fields, message in [
        ({"title": " "}, "Give the campaign a title."),
        ({"checklist_id": "nope"}, "Not a valid choice"),
        ({"min_version": "3"}, "a whole number from 1 to 2 (the newest)"),
        ({"min_version": "two"}, "a whole number from 1 to 2"),
        ({"deadline": today.isoformat()}, "The deadline must be after today."),
        ({"deadline": "soon"}, "Give the deadline as YYYY-MM-DD."),
        ({"teams": "payments, nobody"}, "No such team: nobody."),
    ]:
        response = client.post("/campaigns/", data=form(**fields))
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    assert db.session.scalars(select(Campaign)).all() == []
    client.post("/logout")
    login(w["member"])
    assert client.get("/campaigns/new").status_code == 403
    assert client.post("/campaigns/", data=form()).status_code == 403


def test_a_campaign_takes_the_matching_services_now_and_those_created_later(
        app, client, login):
    w = world()
    login(w["lead"])
    response = client.post("/campaigns/", data=form(teams="payments"))
    assert response.status_code == 302
    campaign = db.session.scalars(select(Campaign)).one()
    assert "Campaign started with 2 services." in client.get(
        response.headers["Location"]).get_data(as_text=True)
    in_scope = set(db.session.scalars(select(CampaignService.service_id).where(
        CampaignService.campaign_id == campaign.id)))
    assert in_scope == {w["services"]["checkout"].id, w["services"]["ledger"].id}
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "campaign:create")).one()
    assert entry.changes["services"] == 2 and entry.changes["tiers"] == [1]
    # Created later: a matching service joins, another does not.
    client.post("/logout")
    login(w["member"])
    for slug, tier in (("payouts", "1"), ("reports", "3")):
        assert client.post("/services/new", data={"slug": slug, "name": slug.title(),
                                                  "team": "payments",
                                                  "tier": tier}).status_code == 302
    joined = set(db.session.scalars(select(CampaignService.service_id).where(
        CampaignService.campaign_id == campaign.id)))
    assert len(joined) == 3


def test_the_campaign_page_shows_progress_per_team_a_burn_up_and_then_the_overdue(
        app, client, login):
    w = world()
    s = w["services"]
    login(w["lead"])
    client.post("/campaigns/", data=form())
    campaign = db.session.scalars(select(Campaign)).one()
    make_review(service=s["checkout"], checklist_version=w["v2"], state="approved")
    make_review(service=s["ledger"], checklist_version=w["v1"], state="approved")  # too old
    db.session.commit()
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "1 of 3 services done (33 %)" in page
    assert re.search(r"<td>Payments</td><td class=\"num\">1</td><td class=\"num\">2</td>", page)
    assert re.search(r"<td>Search</td><td class=\"num\">0</td><td class=\"num\">1</td>", page)
    assert "<svg" in page and "Burn-up: services done by day" in page
    assert "Not done yet" in page and "Overdue" not in page
    with clock_at(utcnow() + timedelta(days=31)):
        page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Overdue <span class=\"count\">2</span>" in page
    assert "/services/ledger" in page and "/services/search-api" in page
    # The team's My work lists its services not done.
    client.post("/logout")
    login(w["member"])
    page = client.get("/my-work").get_data(as_text=True)
    assert "services in campaigns, not done yet <span class=\"count\">1</span>" in page
    assert "/services/ledger" in page and "/services/checkout\"" not in page.split(
        "team-campaigns")[1].split("</section>")[0]


def plain_progress(campaign, now):
    """done, total and per team by the definition, over every review of every service."""
    by_team, done = {}, 0
    scope = db.session.scalars(select(CampaignService).where(
        CampaignService.campaign_id == campaign.id)).all()
    for row in scope:
        service = db.session.get(Service, row.service_id)
        if service.state == "retired":
            continue
        finished = any(
            r.state == "approved" and r.checklist_version.checklist_id == campaign.checklist_id
            and r.checklist_version.version >= campaign.min_version and r.approved_at <= now
            and (r.checklist_version.valid_for_days is None
                 or now < r.approved_at + timedelta(days=r.checklist_version.valid_for_days))
            for r in service.reviews)
        done += finished
        d, t = by_team.get(service.team.name, (0, 0))
        by_team[service.team.name] = (d + finished, t + 1)
    return done, sum(t for _, t in by_team.values()), by_team


@pytest.mark.parametrize("seed", range(6))
def test_progress_equals_a_plain_count_over_random_organisations(app, seed):
    rng = random.Random(seed)  # noqa: S311  (test data)
    teams = [make_team() for _ in range(3)]
    lead = make_user(roles=("ops_lead",))
    versions = [make_checklist_version(version=n, content=None) for n in (1, 2, 3)]
    versions[2].valid_for_days = 30
    other = make_checklist_version("handoff-readiness", stage="handoff")
    states = ("development", "self_managed", "ops_managed", "retired")
    services = [make_service(team=rng.choice(teams), tier=rng.choice((1, 2, 3)),
                             state=rng.choice(states)) for _ in range(25)]
    now = utcnow()
    for service in services:
        for _ in range(rng.choice((0, 1, 1, 2))):
            version = rng.choice([*versions, other])
            with clock_at(now - timedelta(days=rng.choice((1, 20, 45, 400)),
                                          minutes=rng.random() * 100)):
                make_review(service=service, checklist_version=version,
                            state=rng.choice(("approved", "approved", "draft")))
    db.session.commit()
    found = CampaignFilter(tuple(rng.sample((1, 2, 3), rng.choice((0, 1, 2)))),
                           tuple(t.slug for t in rng.sample(teams, rng.choice((0, 2)))),
                           tuple(rng.sample(states, rng.choice((0, 2, 3)))))
    campaign, scope = create_campaign(CampaignInput(
        "C", "", "launch-readiness", rng.choice((1, 2, 3)),
        (now + timedelta(days=10)).date(), found), actor=lead)
    db.session.commit()
    assert scope == sum(found.matches(tier=s.tier, team=s.team.slug, state=s.state)
                        for s in services)
    for moment in (now, now + timedelta(days=15), now + timedelta(days=400)):
        view = campaign_view(campaign, moment)
        done, total, by_team = plain_progress(campaign, moment)
        assert (view.progress.done, view.progress.total) == (done, total)
        assert view.progress.by_team == dict(sorted(by_team.items()))


def test_deadline_reminders_go_to_each_team_with_services_not_done(app):
    w = world()
    create_campaign(CampaignInput(
        "Runbooks", "", "launch-readiness", 1, (utcnow() + timedelta(days=20)).date(),
        CampaignFilter(tiers=(1,))), actor=w["lead"])
    make_review(service=w["services"]["checkout"], checklist_version=w["v1"],
                state="approved")
    db.session.commit()

    def written(days_ahead):
        count = reminders.write_reminders(utcnow() + timedelta(days=days_ahead))
        db.session.commit()
        return count

    def campaign_reminders():
        return [(e.subject_id, e.changes["days"], e.changes["services"])
                for e in db.session.scalars(select(AuditEntry).where(
                    AuditEntry.action == "reminder:campaign_deadline")
                    .order_by(AuditEntry.seq))]

    written(0)
    assert campaign_reminders() == []  # 20 days ahead: none yet
    written(7)  # 13 days left
    payments = str(w["payments"].id)
    found = campaign_reminders()
    search = next(i for i, _, _ in found if i != payments)
    assert sorted(found) == sorted([(payments, 14, ["ledger"]), (search, 14, ["search-api"])])
    written(7)
    assert len(campaign_reminders()) == 2  # once each
    written(21)  # the deadline has passed
    assert [d for _, d, _ in campaign_reminders()][2:] == [0, 0]
    review = db.session.scalars(select(Review)).first()
    assert review.state == "approved"


def test_a_campaign_of_a_checklist_for_some_tiers_takes_only_those(app):
    w = world()
    make_checklist_version("launch-low-risk", content=dict(
        SMALL_CHECKLIST, id="launch-low-risk", applies_to={"tiers": [2, 3]}))
    campaign, scope = create_campaign(CampaignInput(
        "Low-risk reviews", "", "launch-low-risk", 1, (utcnow() + timedelta(days=9)).date(),
        CampaignFilter(teams=("payments",))), actor=w["lead"])
    assert scope == 1  # refunds (tier 2); checkout and ledger are tier 1
    make_service(slug="tiny", team=w["payments"], tier=3)
    make_service(slug="core", team=w["payments"], tier=1)
    db.session.commit()
    assert sorted(db.session.scalars(select(Service.slug).join(
        CampaignService, CampaignService.service_id == Service.id).where(
        CampaignService.campaign_id == campaign.id))) == ["refunds", "tiny"]


def test_an_approval_leaning_on_an_expired_waiver_is_not_done(app):
    from readiness.models import Waiver

    w = world()
    campaign, _ = create_campaign(CampaignInput(
        "C", "", "launch-readiness", 1, (utcnow() + timedelta(days=9)).date(),
        CampaignFilter(tiers=(1,))), actor=w["lead"])
    review = make_review(service=w["services"]["checkout"], checklist_version=w["v1"],
                         state="approved")
    db.session.commit()
    assert campaign_view(campaign, utcnow()).progress.done == 1
    db.session.add(Waiver(review=review, item_id="pager-load", state="granted", reason="r",
                          control="c", expires_on=utcnow().date() + timedelta(days=2)))
    db.session.commit()
    assert campaign_view(campaign, utcnow()).progress.done == 1
    assert campaign_view(campaign, utcnow() + timedelta(days=2)).progress.done == 0
