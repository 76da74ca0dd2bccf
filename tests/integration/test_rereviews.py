"""Re-reviews through the web: a new review of a checklist starts from the last approval
of it, carrying the answers of unchanged items to be confirmed, and shows what changed."""

import copy

from sqlalchemy import select

from readiness.extensions import db
from readiness.models import Answer, AuditEntry, Review

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user


def twenty_items(version=1):
    return {
        "id": "launch-readiness", "title": "Launch Readiness Review", "stage": "launch",
        "version": version, "valid_for_days": 365, "description": "",
        "sections": [{"id": f"s{s}", "title": f"Section {s}", "description": "", "items": [
            {"id": f"item-{s * 5 + i}", "title": f"Item {s * 5 + i}",
             "guidance": f"Show item {s * 5 + i}.", "required": True, "evidence": "text",
             "check": None}
            for i in range(5)]} for s in range(4)],
    }


def world(client, login):
    team = make_team(slug="owners")
    owner = make_user(email="owner@example.com", teams=[team])
    consultant = make_user(email="c@example.com", roles=("consultant",))
    service = make_service(slug="svc", team=team)
    v1 = make_checklist_version(content=twenty_items(1))
    old = make_review(service=service, checklist_version=v1, state="approved", answers=[
        (f"item-{n}", "met", f"Evidence {n}, as it was last year.") for n in range(20)])
    v2_content = copy.deepcopy(twenty_items(2))
    items = v2_content["sections"][0]["items"]
    items[1]["title"] = "Item 1, asked differently"  # changed text: answered again
    v2_content["sections"][2]["items"][3]["guidance"] = "New guidance for item 13."
    v2 = make_checklist_version(version=2, content=v2_content)
    db.session.commit()
    login(owner)
    return {"owner": owner, "consultant": consultant, "service": service, "old": old,
            "v1": v1, "v2": v2}


def start(client, version):
    response = client.post("/services/svc/reviews",
                           data={"checklist_version_id": str(version.id)})
    assert response.status_code == 302
    return db.session.scalar(select(Review).order_by(Review.id.desc()))


def test_a_re_review_of_20_items_with_2_changed_carries_18_answers(app, client, login):
    w = world(client, login)
    review = start(client, w["v2"])
    answers = {a.item_id: a for a in review.answers}
    assert len(answers) == 18
    assert set(answers) == {f"item-{n}" for n in range(20)} - {"item-1", "item-13"}
    assert all(a.carried_from_id == w["old"].id and a.status == "met" for a in answers.values())
    assert answers["item-5"].evidence == "Evidence 5, as it was last year."
    assert review.previous_review_id == w["old"].id
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "review:start")).all()[-1]
    assert entry.changes["previous_review"] == w["old"].id and len(entry.changes["carried"]) == 18
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "18 carried answers to confirm." in page
    assert "2 items changed in the checklist since then." in page
    assert page.count(f"carried from review {w['old'].id}: confirm</span>") == 18
    assert page.count("item changed: answer again") == 2


def test_submission_waits_until_each_carried_answer_is_confirmed_or_changed(
        app, client, login):
    w = world(client, login)
    review = start(client, w["v2"])
    fresh = {"status-item-1": "met", "evidence-item-1": "Answered anew.",
             "status-item-13": "met", "evidence-item-13": "Per the new guidance."}
    response = client.post(f"/reviews/{review.id}/answers", data={**fresh, "action": "submit"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "18 required item(s) are not done yet" in page
    assert f"carried from review {w['old'].id}: confirm it or change it" in page
    # Confirm one as it is; change another; the rest at once.
    client.post(f"/reviews/{review.id}/answers", data={"confirm": "item-0"})
    client.post(f"/reviews/{review.id}/answers",
                data={"status-item-2": "met", "evidence-item-2": "Re-checked this year."})
    db.session.expire_all()
    carried = {a.item_id for a in review.answers if a.carried_from_id is not None}
    assert len(carried) == 16 and {"item-0", "item-2"}.isdisjoint(carried)
    changed = db.session.scalar(select(Answer).where(Answer.review_id == review.id,
                                                     Answer.item_id == "item-2"))
    assert changed.evidence == "Re-checked this year."
    # Saving a carried answer unchanged does not confirm it.
    client.post(f"/reviews/{review.id}/answers",
                data={"status-item-3": "met",
                      "evidence-item-3": "Evidence 3, as it was last year."})
    db.session.expire_all()
    assert db.session.scalar(select(Answer).where(
        Answer.review_id == review.id, Answer.item_id == "item-3")).carried_from_id is not None
    response = client.post(f"/reviews/{review.id}/answers", data={"confirm": "all"})
    assert response.status_code == 302
    db.session.expire_all()
    assert all(a.carried_from_id is None for a in review.answers)
    confirms = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "review:confirm")).all()
    assert [len(e.changes["items"]) for e in confirms] == [1, 16]
    assert client.post(f"/reviews/{review.id}/answers",
                       data={"action": "submit"}).status_code == 302
    db.session.expire_all()
    assert review.state == "submitted"


def test_the_changes_page_shows_items_answers_and_evidence_against_the_last_approval(
        app, client, login):
    w = world(client, login)
    review = start(client, w["v2"])
    client.post(f"/reviews/{review.id}/answers", data={
        "status-item-4": "not_applicable", "evidence-item-4": "Moved to <the platform>.",
        "status-item-1": "met", "evidence-item-1": "New answer."})
    page = client.get(f"/reviews/{review.id}/changes").get_data(as_text=True)
    assert f"Against <a href=\"/reviews/{w['old'].id}\">review #{w['old'].id}</a>" in page
    assert "3 items differ; 17 of 20 are the same in both." in page
    assert "item changed: title" in page and "item changed: guidance" in page
    assert "Evidence 4, as it was last year." in page and "Moved to &lt;the platform&gt;." in page
    assert 'id="change-item-5"' not in page  # carried, unchanged: not listed
    # A first review has nothing to compare with.
    other = make_service(slug="fresh", team=w["service"].team)
    first = make_review(service=other, checklist_version=w["v2"])
    db.session.commit()
    page = client.get(f"/reviews/{first.id}/changes").get_data(as_text=True)
    assert "There is no earlier approval" in page


def test_a_review_of_a_checklist_never_approved_carries_nothing(app, client, login):
    w = world(client, login)
    handoff = make_checklist_version("handoff-readiness", stage="handoff",
                                     content=twenty_items(1))
    db.session.commit()
    w["service"].state = "self_managed"
    db.session.commit()
    review = start(client, handoff)
    assert review.answers == [] and review.previous_review_id is None


def test_services_needing_a_re_review_show_on_the_dashboard_and_the_teams_my_work(
        app, client, login):
    from datetime import timedelta

    from readiness.commands.services import update_service
    from readiness.commands.worklists import refresh_worklists
    from readiness.models import clock_at, utcnow

    w = world(client, login)
    w["service"].state = "self_managed"
    refresh_worklists([w["service"].id])
    db.session.commit()
    assert "Your teams' services needing a launch re-review <span class=\"count\">0" in (
        client.get("/my-work").get_data(as_text=True))
    # The tier became more critical than when approved.
    w["old"].approved_tier = 3
    db.session.commit()
    update_service(w["service"], actor=w["owner"], tier=1)
    db.session.commit()
    page = client.get("/my-work").get_data(as_text=True)
    assert "Its tier became more critical (tier 3 when approved, tier 1 now)" in page
    page = client.get("/").get_data(as_text=True)
    assert "Live services needing a launch re-review <span class=\"count\">1</span>" in page
    assert "Start a re-review<span class=\"visually-hidden\"> of" in page
    # Thirty days before the approval expires, that is a reason too.
    update_service(w["service"], actor=w["owner"], tier=3)
    db.session.commit()
    assert "needing a launch re-review <span class=\"count\">0" in client.get("/").get_data(
        as_text=True)
    with clock_at(utcnow() + timedelta(days=336)):
        page = client.get("/needs-rereview").get_data(as_text=True)
    assert "Its launch approval expires on" in page and "svc" in page


def test_whoever_carried_the_answers_in_cannot_approve_the_re_review(app, client, login):
    w = world(client, login)
    both = make_user(email="both@example.com", roles=("consultant",),
                     teams=[w["service"].team])
    client.post("/logout")
    login(both)
    review = start(client, w["v2"])  # carried in by a consultant on the team
    client.post("/logout")
    login(w["owner"])
    client.post(f"/reviews/{review.id}/answers", data={
        "confirm": "all", "status-item-1": "met", "evidence-item-1": "New.",
        "status-item-13": "met", "evidence-item-13": "New too.", "action": "submit"})
    db.session.expire_all()
    assert review.state == "submitted"
    client.post("/logout")
    login(both)
    response = client.post(f"/reviews/{review.id}/decision", data={"verdict": "approve"})
    assert response.status_code == 422
    assert "separation of duties" in response.get_data(as_text=True)
