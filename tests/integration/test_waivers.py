"""Waivers through the web: ask, decide with separation of duties, submit and approve on a
waiver, the frozen sign-off, the gate's body and its refusal once a waiver expires."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from readiness.commands import lifecycle as support
from readiness.commands.facts import record_facts
from readiness.commands.tokens import create_token
from readiness.domain.facts import FactInput
from readiness.extensions import db
from readiness.models import AuditEntry, Review, Service, Waiver, clock_at, utcnow

from ..factories import (
    SMALL_CHECKLIST,
    make_checklist_version,
    make_review,
    make_service,
    make_team,
    make_user,
)

CHECKED = {**SMALL_CHECKLIST, "max_waiver_days": 60, "sections": [
    {**SMALL_CHECKLIST["sections"][0], "items": [
        {**SMALL_CHECKLIST["sections"][0]["items"][0],
         "check": {"fact": "pages_per_week", "op": "<=", "value": 5, "max_age_days": 30}},
        SMALL_CHECKLIST["sections"][0]["items"][1]]},
    SMALL_CHECKLIST["sections"][1]]}


def world():
    team = make_team(slug="owners", name="Owners")
    owner = make_user(email="owner@example.com", name="Olga Owner", teams=[team])
    # A consultant who is also on the team: may ask, so may not decide their own.
    member_consultant = make_user(email="mc@example.com", name="Mia Both",
                                  roles=("consultant",), teams=[team])
    consultant = make_user(email="c@example.com", name="Carl Consultant",
                           roles=("consultant",))
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    version = make_checklist_version(content=CHECKED)
    service = make_service(slug="svc", team=team)
    db.session.commit()
    return {"owner": owner, "mc": member_consultant, "consultant": consultant, "lead": lead,
            "version": version, "service": service}


def start(client, w):
    response = client.post("/services/svc/reviews",
                           data={"checklist_version_id": str(w["version"].id)})
    assert response.status_code == 302
    return db.session.scalar(select(Review).order_by(Review.id.desc()))


def ask(client, review, **fields):
    data = {"item": "pager-load", "reason": "The pager migration lands next month.",
            "control": "A *daily* review of pages by the team lead.",
            "expires_on": (utcnow().date() + timedelta(days=30)).isoformat(), **fields}
    return client.post(f"/reviews/{review.id}/waivers", data=data)


def grant_as_consultant(client, login, w, then="owner"):
    """The (only) waiver granted by the consultant; then signed in as `then`."""
    client.post("/logout")
    login(w["consultant"])
    waiver = db.session.scalars(select(Waiver)).one()
    client.post(f"/waivers/{waiver.id}/decision", data={"verdict": "grant"})
    client.post("/logout")
    login(w[then])
    return waiver


def pages(service, value):
    record_facts(service, [FactInput("pages_per_week", float(value), utcnow(), "monitoring")],
                 actor=None)
    db.session.commit()


def test_bad_requests_say_what_is_wrong_and_store_nothing(app, client, login):
    w = world()
    login(w["owner"])
    review = start(client, w)
    today = utcnow().date()
    for fields, message in [
        ({"reason": "  "}, "Say why the item cannot be met now."),
        ({"control": ""}, "Say what limits the risk meanwhile."),
        ({"expires_on": (today + timedelta(days=61)).isoformat()},
         f"at most 60 days: until {(today + timedelta(days=60)).isoformat()}"),
        ({"expires_on": today.isoformat()}, "The expiry date must be after today."),
        ({"expires_on": "next week"}, "Give the expiry date as YYYY-MM-DD."),
        ({"item": "no-such-item"}, "Choose an item of this review"),
    ]:
        response = ask(client, review, **fields)
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    assert db.session.scalars(select(Waiver)).all() == []
    # What was typed comes back for correcting.
    response = ask(client, review, expires_on="2099-01-01", reason="Kept <b>text</b>")
    assert "Kept &lt;b&gt;text&lt;/b&gt;</textarea>" in response.get_data(as_text=True)


def test_a_requester_cannot_grant_their_own_waiver_another_consultant_can(app, client, login):
    w = world()
    login(w["mc"])
    review = start(client, w)
    assert ask(client, review).status_code == 302
    waiver = db.session.scalars(select(Waiver)).one()
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "another consultant must decide it (separation of duties)" in page
    assert f'action="/waivers/{waiver.id}/decision"' not in page
    response = client.post(f"/waivers/{waiver.id}/decision", data={"verdict": "grant"})
    assert response.status_code == 422
    assert "separation of duties" in response.get_data(as_text=True)
    db.session.expire_all()
    assert waiver.state == "requested"
    # Rewriting the column does not help: the record says who asked.
    db.session.execute(text("UPDATE waiver SET requested_by_id = :id"),
                       {"id": w["consultant"].id})
    db.session.commit()
    assert client.post(f"/waivers/{waiver.id}/decision",
                       data={"verdict": "grant"}).status_code == 422
    db.session.execute(text("UPDATE waiver SET requested_by_id = :id"), {"id": w["mc"].id})
    db.session.commit()
    client.post("/logout")
    login(w["consultant"])
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert f'action="/waivers/{waiver.id}/decision"' in page
    response = client.post(f"/waivers/{waiver.id}/decision", data={"verdict": "refuse"})
    assert "Say why the waiver is refused" in response.get_data(as_text=True)
    response = client.post(f"/waivers/{waiver.id}/decision",
                           data={"verdict": "grant", "comment": "Fine for a month."})
    assert response.status_code == 302
    db.session.expire_all()
    assert (waiver.state, waiver.decided_by_id) == ("granted", w["consultant"].id)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "waiver:grant")).one()
    assert entry.changes["waiver"] == waiver.id and entry.actor_id == w["consultant"].id


def test_a_granted_waiver_satisfies_its_item_through_submission_approval_and_the_gate(
        app, client, login):
    w = world()
    pages(w["service"], 9)  # the automated check of pager-load fails
    login(w["owner"])
    review = start(client, w)
    answers = {"status-alert-runbooks": "met", "evidence-alert-runbooks": "All linked.",
               "link-alert-runbooks": "https://wiki.example.com/runbooks"}
    response = client.post(f"/reviews/{review.id}/answers",
                           data={**answers, "action": "submit"})
    assert response.status_code == 422
    assert "automated check: pages_per_week = 9" in response.get_data(as_text=True)
    db.session.expire_all()
    assert review.state == "draft"  # pager-load blocks
    ask(client, review)
    waiver = grant_as_consultant(client, login, w)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    expires_on = waiver.expires_on.isoformat()
    assert f"Waived until {expires_on}" in page and "A <em>daily</em> review" in page
    response = client.post(f"/reviews/{review.id}/answers", data={"action": "submit"})
    assert response.status_code == 302
    db.session.expire_all()
    assert review.state == "submitted"
    client.post("/logout")
    login(w["mc"])  # answered nothing, asked for nothing: may approve
    response = client.post(f"/reviews/{review.id}/decision", data={"verdict": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    assert review.state == "approved"
    support.transition(w["service"], "launch", actor=w["lead"])
    _, token = create_token(w["lead"], name="ci", actor=w["lead"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/services/svc/gate", headers=headers).get_json()
    assert body["allowed"] is True
    assert body["waivers"] == [{"item": "pager-load", "title": "Pager load is supportable",
                                "expires_on": expires_on}]
    # On the expiry date the waiver no longer holds: the gate refuses, saying why.
    with clock_at(datetime.combine(waiver.expires_on, datetime.min.time(), UTC)):
        response = client.get("/api/v1/services/svc/gate", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["reasons"] == [
        f"the waiver of pager-load expired on {expires_on}: a re-review is needed"]
    with clock_at(datetime.combine(waiver.expires_on, datetime.min.time(), UTC)
                  - timedelta(seconds=1)):
        assert client.get("/api/v1/services/svc/gate", headers=headers).status_code == 200


def submitted_with_waiver(client, login, w, **fields):
    """A review whose failing pager-load check is waived (granted), submitted by the
    team, who is still signed in."""
    pages(w["service"], 9)
    login(w["owner"])
    review = start(client, w)
    client.post(f"/reviews/{review.id}/answers", data={
        "status-alert-runbooks": "met", "evidence-alert-runbooks": "Linked.",
        "link-alert-runbooks": "https://wiki.example.com/r"})
    ask(client, review, **fields)
    waiver = grant_as_consultant(client, login, w)
    client.post(f"/reviews/{review.id}/answers", data={"action": "submit"})
    return review, waiver


def approved_with_waiver(client, login, w):
    review, waiver = submitted_with_waiver(client, login, w)
    client.post("/logout")
    login(w["consultant"])
    client.post(f"/reviews/{review.id}/decision", data={"verdict": "approve"})
    db.session.expire_all()
    assert review.state == "approved"
    return review, waiver


def test_the_sign_off_freezes_the_waiver_and_altering_it_fails_audit_verify(
        app, client, login, runner):
    w = world()
    review, waiver = approved_with_waiver(client, login, w)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "review:approve")).one()
    assert entry.changes["content_hash"] == review.content_hash
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # A frozen waiver cannot be withdrawn or decided again through the app ...
    assert client.post(f"/waivers/{waiver.id}/decision",
                       data={"verdict": "refuse", "comment": "No."}).status_code == 403
    # ... and altering it behind the app's back breaks the sign-off.
    db.session.execute(text("UPDATE waiver SET expires_on = :d"),
                       {"d": (waiver.expires_on + timedelta(days=300)).isoformat()})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"review {review.id}" in result.output and "changed after sign-off" in result.output


def test_an_expired_waiver_keeps_the_sign_off_back(app, client, login):
    w = world()
    review, waiver = submitted_with_waiver(
        client, login, w, expires_on=(utcnow().date() + timedelta(days=2)).isoformat())
    client.post("/logout")
    login(w["mc"])
    with clock_at(utcnow() + timedelta(days=3)):
        response = client.post(f"/reviews/{review.id}/decision", data={"verdict": "approve"})
    assert response.status_code == 422
    assert f"The waiver of pager-load expired on {waiver.expires_on.isoformat()}" in (
        response.get_data(as_text=True))
    db.session.expire_all()
    assert review.state == "submitted"


def test_a_waiver_is_one_per_item_and_withdrawn_by_the_team(app, client, login):
    w = world()
    login(w["owner"])
    review = start(client, w)
    assert ask(client, review).status_code == 302
    response = ask(client, review)
    assert response.status_code == 422
    assert "already has a waiver requested or granted" in response.get_data(as_text=True)
    waiver = db.session.scalars(select(Waiver)).one()
    assert client.post(f"/waivers/{waiver.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert waiver.state == "withdrawn"
    assert ask(client, review).status_code == 302  # asked again after withdrawing
    assert len(db.session.scalars(select(Waiver)).all()) == 2


def test_the_dashboard_lists_waivers_expiring_within_30_days(app, client, login):
    w = world()
    review, waiver = approved_with_waiver(client, login, w)
    page = client.get("/").get_data(as_text=True)
    assert "Waivers expiring within 30 days" in page
    assert re.search(rf'href="/reviews/{review.id}#waiver-{waiver.id}"', page)
    # Beyond 30 days ahead, or once expired, it is not on the list.
    with clock_at(utcnow() - timedelta(days=5)):
        assert f"#waiver-{waiver.id}" not in client.get("/").get_data(as_text=True)
    with clock_at(utcnow() + timedelta(days=31)):
        assert f"#waiver-{waiver.id}" not in client.get("/").get_data(as_text=True)
    # A newer approval of the checklist replaces the one the waiver was part of.
    with clock_at(utcnow() + timedelta(minutes=1)):
        make_review(service=db.session.get(Service, w["service"].id),
                    checklist_version=w["version"], state="approved")
    db.session.commit()
    assert f"#waiver-{waiver.id}" not in client.get("/").get_data(as_text=True)


def plain_expiring(now):
    """The dashboard's list by its plain definition, over every waiver."""
    today, found = now.date(), set()
    for waiver in db.session.scalars(select(Waiver)):
        review = waiver.review
        approvals = [r for r in review.service.reviews if r.state == "approved"
                     and r.checklist_version.stage == review.checklist_version.stage]
        latest = max(approvals, key=lambda r: (r.approved_at, r.id), default=None)
        if (waiver.state == "granted" and latest is review
                and review.service.state != "retired"
                and today < waiver.expires_on <= today + timedelta(days=30)):
            found.add(waiver.id)
    return found


def test_waivers_in_force_follow_approvals_and_retirement(app):
    from readiness.commands.reviews import (
        confirm_answers,
        decide_review,
        start_review,
        submit_review,
    )
    from readiness.commands.waivers import decide_waiver
    from readiness.commands.waivers import request_waiver as ask_for
    from readiness.queries.waivers import expiring_waivers

    w = world()
    other = make_service(slug="other", team=w["service"].team)
    pages(w["service"], 1)
    pages(other, 1)

    def approve(service, days):
        review = start_review(service, w["version"], actor=w["owner"])
        db.session.flush()
        from readiness.commands.reviews import AnswerInput, save_answers
        save_answers(review, {"alert-runbooks": AnswerInput("met", "ok", "https://x.example")},
                     actor=w["owner"])
        confirm_answers(review, ["alert-runbooks", "pager-load"], actor=w["owner"])
        waiver = ask_for(review, actor=w["owner"], item_id="pager-load", reason="r",
                         control="c",
                         expires_on=(utcnow().date() + timedelta(days=days)).isoformat())
        decide_waiver(waiver, actor=w["consultant"], verdict="grant", comment="")
        submit_review(review, actor=w["owner"])
        decide_review(review, actor=w["consultant"], verdict="approve", comment="",
                      item_comments={})
        db.session.commit()
        return review

    now = utcnow()
    seen = []

    def check():
        plain = plain_expiring(now)
        assert {x.waiver_id for x in expiring_waivers(now, 100).items} == plain
        return plain
    with clock_at(now - timedelta(minutes=10)):
        approve(w["service"], 10)
        approve(other, 20)
    seen.append(check())
    assert len(seen[-1]) == 2
    with clock_at(now - timedelta(minutes=5)):
        approve(w["service"], 25)  # supersedes the first: its waiver lapses
    seen.append(check())
    with clock_at(now - timedelta(minutes=4)):
        # A newer launch approval, of another launch checklist, without waivers: the
        # gate leans on it now, so the older one's waiver is no longer in force.
        make_review(service=other, state="approved", checklist_version=make_checklist_version(
            "launch-small", content=dict(CHECKED, id="launch-small")))
        db.session.commit()
    seen.append(check())
    support.transition(db.session.get(Service, w["service"].id), "retire",
                       actor=w["lead"], reason="Gone.")
    db.session.commit()
    seen.append(check())
    assert [len(s) for s in seen] == [2, 2, 1, 0]


def test_a_pending_request_holds_submission_and_goes_with_a_withdrawn_review(
        app, client, login):
    w = world()
    login(w["owner"])
    review = start(client, w)
    ask(client, review)
    response = client.post(f"/reviews/{review.id}/answers", data={"action": "submit"})
    assert response.status_code == 422
    assert "a waiver request waits for a consultant&#39;s decision (or withdraw it)" in (
        response.get_data(as_text=True))
    client.post("/logout")
    login(w["consultant"])
    page = client.get("/my-work").get_data(as_text=True)
    assert "Waiver requests waiting for a decision <span class=\"count\">1</span>" in page
    assert f"/reviews/{review.id}#waiver-" in page
    client.post("/logout")
    login(w["owner"])
    client.post(f"/reviews/{review.id}/withdraw", data={"confirm": "yes"})
    db.session.expire_all()
    assert db.session.scalars(select(Waiver)).one().state == "withdrawn"
    client.post("/logout")
    login(w["consultant"])
    page = client.get("/my-work").get_data(as_text=True)
    assert "Waiver requests waiting for a decision <span class=\"count\">0</span>" in page


def test_the_demo_gate_refuses_on_an_expired_waiver_and_lists_those_in_force(app, client):
    from readiness.cli.demo import load_demo
    from readiness.models import User

    load_demo()
    lead = db.session.scalar(select(User).where(User.email == "lead@example.com"))
    _, token = create_token(lead, name="ci", actor=lead)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    expired = db.session.scalar(select(Waiver).join(Waiver.review).join(Review.service)
                                .where(Service.slug == "notify"))
    response = client.get("/api/v1/services/notify/gate", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["reasons"] == [
        f"the waiver of load-tested expired on {expired.expires_on.isoformat()}: "
        f"a re-review is needed"]
    response = client.get("/api/v1/services/status-page/gate", headers=headers)
    assert response.status_code == 200
    in_force = db.session.scalar(select(Waiver).join(Waiver.review).join(Review.service)
                                 .where(Service.slug == "status-page"))
    assert response.get_json()["waivers"] == [
        {"item": "rollback", "title": "It can be rolled back or switched off",
         "expires_on": in_force.expires_on.isoformat()}]
    assert in_force.expires_on > utcnow().date()


def test_the_export_and_the_api_show_the_waivers(app, client, login):
    w = world()
    review, waiver = approved_with_waiver(client, login, w)
    export = client.get(f"/reviews/{review.id}/export.md").get_data(as_text=True)
    assert f"**Waived until {waiver.expires_on.isoformat()}.**" in export
    assert "A *daily* review of pages by the team lead." in export
    _, token = create_token(w["lead"], name="ci", actor=w["lead"])
    db.session.commit()
    body = client.get(f"/api/v1/reviews/{review.id}",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["waivers"] == [{
        "id": waiver.id, "item": "pager-load", "state": "granted",
        "reason": "The pager migration lands next month.",
        "control": "A *daily* review of pages by the team lead.",
        "expires_on": waiver.expires_on.isoformat(), "requested_by": w["owner"].id,
        "decided_by": w["consultant"].id, "comment": ""}]


def test_asking_for_a_waiver_counts_as_answering_for_separation_of_duties(
        app, client, login):
    w = world()
    pages(w["service"], 1)
    login(w["mc"])  # a consultant on the team asks, answers nothing
    review = start(client, w)
    ask(client, review, item="alert-runbooks")
    grant_as_consultant(client, login, w)
    client.post(f"/reviews/{review.id}/answers", data={
        "status-pager-load": "met", "evidence-pager-load": "Two a week.", "action": "submit"})
    client.post("/logout")
    login(w["mc"])
    response = client.post(f"/reviews/{review.id}/decision", data={"verdict": "approve"})
    assert response.status_code == 422 and "separation of duties" in response.get_data(
        as_text=True)
