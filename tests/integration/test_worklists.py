"""The ops lead's worklists read moments kept on each service (commands.worklists); after
random sequences of the writes that move them, through the app's own use cases, each
list equals its plain definition at many moments: what the service page decides for
each service, one by one."""

import contextlib
import random
import re
import shutil
from dataclasses import replace
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import update

from readiness import commands
from readiness.commands.facts import record_facts
from readiness.commands.lifecycle import transition
from readiness.commands.services import update_service
from readiness.commands.worklists import refresh_worklists
from readiness.domain import checklists as domain_checklists
from readiness.domain import lifecycle
from readiness.domain.facts import FactInput
from readiness.extensions import db
from readiness.models import ChecklistVersion, Service, utcnow
from readiness.queries import lifecycle as support
from readiness.queries.checklists import current_required_checks, current_versions
from readiness.queries.facts import latest_facts
from readiness.queries.work import WAITING_FOR, ready_for

from ..factories import make_review, make_service, make_team, make_trial, make_user

SEEDS = range(5)
FACTS = {"pages_per_week": (1, 2, 6), "ops_toil_pct": (10, 60), "slo_attainment_pct": (98, 99.9),
         "open_sev1_defects": (0, 1), "change_failure_rate_pct": (5, 40),
         "monitoring_coverage_pct": (50, 100)}
AGES = (0, 1, 6, 7, 13, 29, 31)  # days
NEXT_MOVE = {"development": "launch", "self_managed": "handoff", "ops_managed": "handback",
             "retired": "retire"}


def stricter_handback(tmp_path):
    """The repository's checklists, with a version 2 of the handback criteria whose
    pager check is stricter and goes stale after a day."""
    folder = tmp_path / "checklists"
    shutil.copytree("checklists", folder)
    path = folder / "handback-criteria.yaml"
    data = yaml.safe_load(path.read_text())
    data["version"] = 2
    check = data["sections"][0]["items"][0]["check"]
    check.update(value=2, max_age_days=1)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def plain_candidates(services, moment):
    """The ops-managed services failing a required handback check at `moment`, each
    evaluated whole from its latest facts."""
    facts = latest_facts([s.id for s in services])
    return {s.slug for s in services if s.state == "ops_managed"
            and support.failing_handback_items(facts.get(s.id, {}), moment)}


def plain_rereview(services, moment):
    """The live services whose page would say "Needs a launch re-review" at `moment`."""
    return {s.slug for s in services if s.state in lifecycle.LIVE_STATES
            and support.rereview_reasons(s, moment)}


def plain_ready(services, moment, move):
    """The services whose `move` the service page would offer an ops lead at `moment`."""
    return {s.slug for s in services if s.state == WAITING_FOR[move] and lifecycle.check(
        move, replace(support.situation(s, None, "-", moment), actor_is_ops_lead=True)).allowed}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_operations_keep_the_worklists(app, seed, tmp_path):
    rng = random.Random(seed)  # noqa: S311  (test data)
    assert not commands.sync_checklists(["checklists"]).errors
    stricter = stricter_handback(tmp_path)
    team = make_team()
    lead = make_user(roles=("ops_lead",))
    consultant = make_user(roles=("consultant",))
    services = [make_service(team=team) for _ in range(10)]
    db.session.flush()
    versions = {v.stage: v for v in db.session.query(ChecklistVersion)}
    start = utcnow()
    for step in range(160):
        service = rng.choice(services)
        action = rng.random()
        if step == 80:  # the criteria change: candidates change with them
            assert commands.sync_checklists([stricter]).added
        elif action < 0.3:
            stage = lifecycle.NEXT_REVIEW_STAGE.get(service.state, "launch") \
                if rng.random() < 0.8 else rng.choice(("launch", "handoff"))
            review = make_review(service=service, checklist_version=versions[stage],
                                 state="submitted")
            commands.decide_review(review, actor=consultant, verdict="approve",
                                   comment="", item_comments={})
        elif action < 0.4 and service.state == "self_managed":  # a pager trial, of any age
            make_trial(service, ended_days_ago=rng.choice((1, 10, 85, 120)),
                       outcome=rng.choice(("passed", "passed", "failed")))
        elif action < 0.36:  # a tier change: more critical ones ask for a re-review
            update_service(service, actor=lead, tier=rng.choice((1, 2, 3)))
        elif action < 0.6 and (service.state != "ops_managed" or rng.random() < 0.2):
            kind = NEXT_MOVE[service.state] if rng.random() < 0.8 else rng.choice(
                ("launch", "handoff", "handback", "retire"))
            # Launched a month back, so that pager trials can end after the launch.
            when = start - timedelta(days=30) if kind == "launch" else None
            with contextlib.suppress(lifecycle.TransitionRefused):
                transition(service, kind, actor=lead, reason="a reason", now=when)
        else:
            record_facts(service, [
                FactInput(name, float(rng.choice(values)),
                          start - timedelta(days=rng.choice(AGES), hours=rng.random()), "t")
                for name, values in FACTS.items() if rng.random() < 0.8], actor=None)
        if rng.random() < 0.2:
            db.session.commit()
        if step == 120:  # newcomers, so that every list has entries at the end
            services += [make_service(team=team) for _ in range(3)]
            db.session.flush()
    newcomer = make_service(team=team)  # approved, not launched yet
    services.append(newcomer)
    commands.decide_review(make_review(service=newcomer, checklist_version=versions["launch"],
                                       state="submitted"),
                           actor=consultant, verdict="approve", comment="", item_comments={})
    failing = make_service(team=team, state="ops_managed")  # a handback candidate
    services.append(failing)
    record_facts(failing, [FactInput("pages_per_week", 40.0, start, "t")], actor=None)
    ready = make_service(team=team)  # launched, trial passed, handoff approved
    services.append(ready)
    for stage in ("launch", "handoff"):
        commands.decide_review(make_review(service=ready, checklist_version=versions[stage],
                                           state="submitted"),
                               actor=consultant, verdict="approve", comment="",
                               item_comments={})
        if stage == "launch":
            transition(ready, "launch", actor=lead, now=start - timedelta(days=30))
            make_trial(ready, ended_days_ago=3)
    db.session.commit()

    moments = [utcnow(), start + timedelta(days=1), start + timedelta(days=8),
               start + timedelta(days=179), start + timedelta(days=181),
               start + timedelta(days=366)]
    seen = {"candidates": set(), "launch": set(), "handoff": set(), "rereview": set()}
    for moment in moments:
        candidates = support.handback_candidates(moment)
        assert {c.service.slug for c in candidates.items} == plain_candidates(services, moment)
        assert all(c.failing for c in candidates.items)
        seen["candidates"] |= {c.service.slug for c in candidates.items}
        for move in ("launch", "handoff"):
            ready = ready_for(move, moment)
            assert {r.slug for r in ready.items} == plain_ready(services, moment, move)
            assert [r.expires_at or lifecycle.FOREVER for r in ready.items] == sorted(
                r.expires_at or lifecycle.FOREVER for r in ready.items)
            seen[move] |= {r.slug for r in ready.items}
        rereview = support.needing_rereview(moment)
        assert {r.service.slug for r in rereview.items} == plain_rereview(services, moment)
        assert all(r.reasons for r in rereview.items)
        seen["rereview"] |= {r.service.slug for r in rereview.items}
    assert all(seen.values()), seen  # each list had entries at some moment
    assert refresh_worklists() == 0  # nothing left to correct
    # What each ingest reads (remembered per set of versions) is the current checks.
    assert current_required_checks("handback") == domain_checklists.required_checks(
        version.content for version in current_versions(("handback",))) != []


def test_the_demo_keeps_the_worklists(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    services = db.session.query(Service).all()
    now = utcnow()
    assert {c.service.slug for c in support.handback_candidates(now).items} \
        == plain_candidates(services, now) != set()
    for move in ("launch", "handoff"):
        assert {r.slug for r in ready_for(move, now).items} \
            == plain_ready(services, now, move) != set()
    assert {r.service.slug for r in support.needing_rereview(now).items} \
        == plain_rereview(services, now) != set()
    assert refresh_worklists() == 0


def test_new_handback_criteria_change_the_candidates_at_once(app, tmp_path):
    assert not commands.sync_checklists(["checklists"]).errors
    service = make_service(state="ops_managed")
    db.session.flush()
    now = utcnow()
    passing = {"pages_per_week": 4, "ops_toil_pct": 10, "slo_attainment_pct": 99.9,
               "open_sev1_defects": 0, "change_failure_rate_pct": 5,
               "monitoring_coverage_pct": 100}
    record_facts(service, [FactInput(name, float(value), now, "t")
                           for name, value in passing.items()], actor=None)
    db.session.commit()
    assert not support.handback_candidates(now)
    assert commands.sync_checklists([stricter_handback(tmp_path)]).added  # pages <= 2
    db.session.commit()
    found = support.handback_candidates(now)
    assert [c.service.slug for c in found.items] == [service.slug]
    assert [item["id"] for item, _ in found.items[0].failing] == ["pager-load"]


def test_the_refresh_command_mends_moments_changed_behind_the_apps_back(app, runner):
    assert not commands.sync_checklists(["checklists"]).errors
    service = make_service(state="ops_managed")  # no facts: a candidate
    db.session.commit()
    now = utcnow()
    assert [c.service.slug for c in support.handback_candidates(now).items] == [service.slug]
    db.session.execute(update(Service).values(handback_failing_from=None))  # a hand edit
    db.session.commit()
    assert not support.handback_candidates(now)
    result = runner.invoke(args=["worklists", "refresh"])
    assert result.exit_code == 0 and "1 service(s) updated." in result.output
    assert [c.service.slug for c in support.handback_candidates(now).items] == [service.slug]
    again = runner.invoke(args=["worklists", "refresh"])
    assert "0 service(s) updated." in again.output


def test_the_whole_lists_come_in_pages(app, client, monkeypatch):
    from readiness.web import home

    assert not commands.sync_checklists(["checklists"]).errors
    for n in range(5):  # no facts: each a candidate
        make_service(slug=f"ops-{n}", name=f"Ops {n}", state="ops_managed")
    make_user(email="lead@example.com", roles=("ops_lead",))
    db.session.commit()
    monkeypatch.setattr(home, "LIST_PAGE", 2)
    assert client.post("/login", data={"email": "lead@example.com",
                                       "password": "correct horse"}).status_code == 302

    def shown(page):
        text = client.get(f"/handback-candidates?page={page}").get_data(as_text=True)
        return re.findall(r'href="/services/(ops-\d)"', text), text

    pages = [shown(page) for page in (1, 2, 3)]
    assert [slugs for slugs, _ in pages] == [["ops-0", "ops-1"], ["ops-2", "ops-3"], ["ops-4"]]
    assert all('<span class="count">5</span>' in text for _, text in pages)
    assert 'rel="next"' in pages[1][1] and 'rel="next"' not in pages[2][1]
    slugs, beyond = shown(9)
    assert slugs == [] and "No more entries." in beyond
    assert '<span class="count">5</span>' in beyond
    assert "is not a page number" in client.get("/handback-candidates?page=x").get_data(
        as_text=True)
    expiring = client.get("/expiring-approvals?page=2")
    assert expiring.status_code == 200 and "No more entries." in expiring.get_data(as_text=True)


def test_a_launch_checklist_asking_for_re_reviews_lists_live_services_at_once(
        app, tmp_path):
    assert not commands.sync_checklists(["checklists"]).errors
    launch = db.session.query(ChecklistVersion).filter_by(
        checklist_id="launch-readiness").one()
    live = make_service(slug="live", state="self_managed")
    waiting = make_service(slug="waiting")  # in development: not live, not listed
    for service in (live, waiting):
        make_review(service=service, checklist_version=launch, state="approved")
    db.session.commit()
    assert support.needing_rereview().total == 0
    folder = tmp_path / "checklists"
    shutil.copytree("checklists", folder)
    path = folder / "launch-readiness.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(version=2, requires_rereview=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert commands.sync_checklists([folder]).added
    found = support.needing_rereview()
    assert [(r.service.slug, r.reasons) for r in found.items] == [
        ("live", ["version 2 of its launch checklist asks for a re-review (approved against "
                  "version 1)"])]


def test_a_handoff_waits_on_my_work_from_the_end_of_its_self_managed_time(app, monkeypatch):
    monkeypatch.setitem(app.config, "HANDOFF_MIN_SELF_MANAGED_DAYS", 180)
    assert not commands.sync_checklists(["checklists"]).errors
    versions = {v.stage: v for v in db.session.query(ChecklistVersion)}
    lead = make_user(roles=("ops_lead",))
    service = make_service()
    make_review(service=service, checklist_version=versions["launch"], state="approved")
    start = utcnow()
    transition(service, "launch", actor=lead, now=start - timedelta(days=100))
    make_trial(service, ended_days_ago=2)
    make_review(service=service, checklist_version=versions["handoff"], state="approved")
    db.session.commit()
    assert service.ready_from == start - timedelta(days=100) + timedelta(days=180)
    for moment, waiting in [(start, False), (service.ready_from - timedelta(hours=1), False),
                            (service.ready_from, True)]:
        assert {r.slug for r in ready_for("handoff", moment).items} == (
            {service.slug} if waiting else set()), moment
        assert plain_ready([service], moment, "handoff") == (
            {service.slug} if waiting else set())
