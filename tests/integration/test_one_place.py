"""Each decision is made in one place, and every face shows the same answer: review
progress on the page, in the API and in the export; the current checklists of a stage;
what a batch of facts stored, whatever the clock."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from readiness.cli.demo import load_demo
from readiness.commands.facts import record_facts
from readiness.commands.tokens import create_token
from readiness.domain.facts import FactInput
from readiness.extensions import db
from readiness.models import AuditEntry, Fact, Review, User, clock_at, utcnow
from readiness.queries.checklists import current_versions, handoff_item_titles

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user

PAGE_PROGRESS = re.compile(r"(\d+) of (\d+) required items done")
EXPORT_PROGRESS = re.compile(r"^- Progress: (\d+) of (\d+) required items done$", re.MULTILINE)


def progress_everywhere(client, token, review_id):
    """(page, API, export) progress of one review, each as (done, total)."""
    page = client.get(f"/reviews/{review_id}").get_data(as_text=True)
    api = client.get(f"/api/v1/reviews/{review_id}",
                     headers={"Authorization": f"Bearer {token}"}).get_json()["progress"]
    export = client.get(f"/reviews/{review_id}/export.md").get_data(as_text=True)
    return (tuple(map(int, PAGE_PROGRESS.search(page).groups())),
            (api["done"], api["total"]),
            tuple(map(int, EXPORT_PROGRESS.search(export).groups())))


def test_every_demo_review_reports_the_same_progress_on_the_page_the_api_and_the_export(
        app, client, login):
    load_demo()
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    _, token = create_token(admin, name="test", actor=admin)
    login(admin, password="demo")
    ids = db.session.scalars(select(Review.id).order_by(Review.id)).all()
    assert len(ids) >= 5
    for review_id in ids:
        page, api, export = progress_everywhere(client, token, review_id)
        assert page == api == export, review_id


CHECKED_ONLY = {
    "id": "launch-readiness", "title": "Launch Readiness Review", "stage": "launch",
    "version": 1, "sections": [{"id": "alerting", "title": "Pager alerts", "items": [
        {"id": "pager-load", "title": "Pager load is supportable", "required": True,
         "evidence": "none",
         "check": {"fact": "pages_per_week", "op": "<=", "value": 5, "max_age_days": 7}},
    ]}],
}


def test_an_item_done_by_its_passing_check_alone_counts_in_the_export_too(
        app, client, login):
    team = make_team()
    member = make_user(teams=[team])
    service = make_service(team=team)
    review = make_review(service=service, checklist_version=make_checklist_version(
        content=CHECKED_ONLY))
    record_facts(service, [FactInput("pages_per_week", 2.0, utcnow() - timedelta(days=1))],
                 actor=None)
    _, token = create_token(member, name="test", actor=member)
    login(member)
    assert progress_everywhere(client, token, review.id) == ((1, 1), (1, 1), (1, 1))


def checklist(checklist_id, stage, item_id, check=None):
    return {"id": checklist_id, "title": checklist_id.title(), "stage": stage, "version": 1,
            "sections": [{"id": "s", "title": "S", "items": [
                {"id": item_id, "title": item_id.title(), "required": True,
                 "evidence": "none" if check else "text", "check": check}]}]}


def test_every_checklist_of_a_stage_counts_not_only_the_newest_synced(app, client, login):
    """Two handback checklists (say, one for pager load and one for objectives): a
    service failing either is a candidate; two handoff checklists: a return condition may
    name an item of either."""
    pages = {"fact": "pages_per_week", "op": "<=", "value": 5, "max_age_days": 7}
    slo = {"fact": "slo_attainment_pct", "op": ">=", "value": 99, "max_age_days": 7}
    make_checklist_version("handback-pages", stage="handback",
                           content=checklist("handback-pages", "handback", "pager", pages))
    make_checklist_version("handback-slo", stage="handback",
                           content=checklist("handback-slo", "handback", "objectives", slo))
    make_checklist_version("handoff-a", stage="handoff",
                           content=checklist("handoff-a", "handoff", "runbooks"))
    make_checklist_version("handoff-b", stage="handoff",
                           content=checklist("handoff-b", "handoff", "on-call"))
    make_checklist_version("handoff-b", version=2, stage="handoff",
                           content=checklist("handoff-b", "handoff", "on-call-v2"))
    now = utcnow()
    pager_fails = make_service(slug="pager-fails", state="ops_managed")
    slo_fails = make_service(slug="slo-fails", state="ops_managed")
    fine = make_service(slug="fine", state="ops_managed")
    db.session.flush()
    for service, pages_value, slo_value in ((pager_fails, 9, 99.9), (slo_fails, 1, 95),
                                            (fine, 1, 99.9)):
        record_facts(service, [FactInput("pages_per_week", pages_value, now),
                               FactInput("slo_attainment_pct", slo_value, now)], actor=None)
    lead = make_user(roles=("ops_lead",))
    _, token = create_token(lead, name="test", actor=lead)
    db.session.commit()

    assert {(v.checklist_id, v.version) for v in current_versions(("handoff",))} == {
        ("handoff-a", 1), ("handoff-b", 2)}
    assert handoff_item_titles() == {"runbooks": "Runbooks", "on-call-v2": "On-Call-V2"}
    found = client.get("/api/v1/handback-candidates",
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {c["service"]: [f["item"] for f in c["failing"]]
            for c in found["candidates"]} == {"pager-fails": ["pager"],
                                              "slo-fails": ["objectives"]}
    login(lead)
    page = client.get("/services/slo-fails/hand-back").get_data(as_text=True)
    assert "On-Call-V2" in page and "Runbooks" in page


def test_a_batch_posted_twice_in_one_clock_moment_is_stored_and_audited_once(app, client):
    team = make_team(slug="payments")
    member = make_user(teams=[team])
    make_service(slug="checkout", team=team)
    _, token = create_token(member, name="monitor", actor=member)
    db.session.commit()
    moment = utcnow()
    batch = [{"name": "pages_per_week", "value": n, "observed_at":
              (moment - timedelta(hours=n)).isoformat()} for n in range(1, 4)]
    headers = {"Authorization": f"Bearer {token}"}
    with clock_at(moment):  # both posts are recorded at the very same moment
        first = client.post("/api/v1/services/checkout/facts", json=batch, headers=headers)
        again = client.post("/api/v1/services/checkout/facts", json=batch, headers=headers)
        partly = client.post("/api/v1/services/checkout/facts", headers=headers, json=[
            *batch, {"name": "slo_attainment_pct", "value": 99.5,
                     "observed_at": moment.isoformat()}])
    assert first.get_json()["stored"] == 3
    assert again.get_json() == {"service": "checkout", "received": 3, "stored": 0,
                                "already_stored": 3}
    assert partly.get_json()["stored"] == 1
    assert db.session.scalar(select(func.count()).select_from(Fact)) == 4
    audited = db.session.scalars(select(AuditEntry.changes).where(
        AuditEntry.action == "fact:record").order_by(AuditEntry.seq)).all()
    audited = [{key: c[key] for key in ("count", "names")} for c in audited]
    assert audited == [{"count": 3, "names": ["pages_per_week"]},
                       {"count": 1, "names": ["slo_attainment_pct"]}]


def test_the_service_lists_readiness_agrees_with_each_review_page(app, client, login):
    """Issue 19 ("also expected"): the list's readiness figure is the review's progress
    (checks included), or how long the launch approval counts."""
    load_demo()
    db.session.commit()
    login(db.session.scalar(select(User).where(User.email == "lead@example.com")),
          password="demo")
    listing = client.get("/services/").get_data(as_text=True)
    cells = dict(re.findall(r'href="/services/([a-z0-9-]+)">.*?<td class="readiness '
                            r'readiness-[a-z]+">(.*?)</td>', listing, re.DOTALL))
    assert "approved until" in cells["ledger"] and "approved until" in cells["payouts"]
    assert "2 of 14 required done" in cells["checkout"]  # its re-review, two confirmed
    assert "approval expired" in cells["invoice-pdf"]
    reviewed = 0
    for slug, cell in cells.items():
        found = re.search(r'href="/reviews/(\d+)">(\d+) of (\d+) required done', cell)
        if not found:
            continue
        review_id, done, total = found.groups()
        page = client.get(f"/reviews/{review_id}").get_data(as_text=True)
        assert f"{done} of {total} required items done" in page, slug
        reviewed += 1
    assert reviewed >= 4  # refunds, fraud-score, autocomplete, checkout
