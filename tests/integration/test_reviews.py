"""Reviews through the web: start, fill in, submit, decide, withdraw, export."""

import html
import re
from datetime import timedelta

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import func, select

from readiness.commands.facts import record_facts
from readiness.domain.facts import FactInput
from readiness.extensions import db
from readiness.models import Answer, AuditEntry, Decision, Review, utcnow

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user

DONE = {
    "status-pager-load": "met", "evidence-pager-load": "Two pages a week, see the dashboard.",
    "status-alert-runbooks": "not_applicable",
    "evidence-alert-runbooks": "We have no alerts of our own yet.",
}


@pytest.fixture
def setting(app):
    """A team with a member, a service of theirs, a consultant, and the launch checklist."""
    team = make_team(slug="payments", name="Payments")
    member = make_user(email="member@example.com", teams=[team])
    consultant = make_user(email="consultant@example.com", roles=("consultant",))
    service = make_service(slug="checkout", name="Checkout", team=team, state="development")
    version = make_checklist_version()
    db.session.commit()
    return {"team": team, "member": member, "consultant": consultant, "service": service,
            "version": version}


def page(response):
    return response.get_data(as_text=True)


def start(client, setting):
    response = client.post("/services/checkout/reviews",
                           data={"checklist_version_id": setting["version"].id})
    assert response.status_code == 302, page(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_team_member_fills_in_and_submits_a_review(client, login, setting):
    login(setting["member"])
    review_id = start(client, setting)
    form = client.get(f"/reviews/{review_id}")
    assert "0 of 2 required items done" in page(form)
    assert "Show <em>a week</em> of pages." in page(form)  # guidance as Markdown

    saved = client.post(f"/reviews/{review_id}/answers", data={**DONE, "action": "save"})
    assert saved.status_code == 302
    shown = page(client.get(f"/reviews/{review_id}"))
    assert "2 of 2 required items done" in shown
    assert "Two pages a week, see the dashboard." in shown

    submitted = client.post(f"/reviews/{review_id}/answers", data={**DONE, "action": "submit"})
    assert submitted.status_code == 302
    review = db.session.get(Review, review_id)
    assert review.state == "submitted" and review.submitted_at is not None
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-3:] == ["review:start", "review:save", "review:submit"]


def test_submission_is_refused_with_the_blocking_items_listed(client, login, setting):
    login(setting["member"])
    review_id = start(client, setting)
    data = {"status-pager-load": "not_met", "evidence-pager-load": "Eight pages a week",
            "status-alert-runbooks": "not_applicable", "evidence-alert-runbooks": "  ",
            "action": "submit"}
    response = client.post(f"/reviews/{review_id}/answers", data=data)
    assert response.status_code == 422
    text = page(response)
    assert "Not ready to submit: 2 required item(s) not done" in text
    assert "answered not met" in text
    assert "not applicable needs a written justification" in text
    review = db.session.get(Review, review_id)
    assert review.state == "draft"
    # What was typed is saved even though submission was refused.
    assert {a.item_id: a.evidence for a in review.answers}["pager-load"] == "Eight pages a week"


def test_invalid_answers_come_back_with_everything_typed_and_nothing_saved(
        client, login, setting):
    login(setting["member"])
    review_id = start(client, setting)
    data = {**DONE, "link-alert-runbooks": "javascript:alert(1)", "action": "save"}
    response = client.post(f"/reviews/{review_id}/answers", data=data)
    assert response.status_code == 422
    text = page(response)
    assert "The link must be a full http:// or https:// address." in text
    assert "Two pages a week, see the dashboard." in text
    assert 'value="javascript:alert(1)"' in text
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def decide(client, review_id, verdict, comment="", **item_comments):
    data = {"verdict": verdict, "comment": comment}
    data.update({f"item-comment-{k}": v for k, v in item_comments.items()})
    return client.post(f"/reviews/{review_id}/decision", data=data)


def submitted_review(setting):
    review = make_review(service=setting["service"], checklist_version=setting["version"],
                         state="submitted",
                         answers=[("pager-load", "met", "fine"),
                                  ("alert-runbooks", "met", "linked")])
    db.session.commit()
    return review


def test_the_consultant_requests_changes_then_approves_the_resubmission(
        client, login, setting, app):
    review = submitted_review(setting)
    login(setting["consultant"])
    waiting = page(client.get("/my-work"))
    assert f"/reviews/{review.id}" in waiting

    assert decide(client, review.id, "request_changes").status_code == 422  # needs a comment
    sent_back = decide(client, review.id, "request_changes", "Link the runbook, please.",
                       **{"alert-runbooks": "Which runbook?"})
    assert sent_back.status_code == 302
    assert db.session.get(Review, review.id).state == "changes_requested"

    team = app.test_client()
    team.post("/login", data={"email": "member@example.com", "password": "correct horse"})
    shown = page(team.get(f"/reviews/{review.id}"))
    assert "Which runbook?" in shown and "Link the runbook, please." in shown
    assert f"/reviews/{review.id}" in page(team.get("/my-work"))
    team.post(f"/reviews/{review.id}/answers",
              data={"status-pager-load": "met", "evidence-pager-load": "fine",
                    "status-alert-runbooks": "met", "evidence-alert-runbooks": "linked",
                    "link-alert-runbooks": "https://runbooks.example.com/checkout",
                    "action": "submit"})
    assert db.session.get(Review, review.id).state == "submitted"

    approved = decide(client, review.id, "approve", "Good to launch.")
    assert approved.status_code == 302
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert review.state == "approved" and len(review.content_hash) == 64
    sign_off = db.session.scalars(select(Decision).where(Decision.verdict == "approve")).one()
    assert sign_off.content_hash == review.content_hash
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_an_approved_review_is_frozen(client, login, setting):
    review = make_review(service=setting["service"], checklist_version=setting["version"],
                         state="approved", answers=[("pager-load", "met", "fine")])
    db.session.commit()
    login(setting["member"])
    response = client.post(f"/reviews/{review.id}/answers",
                           data={"status-pager-load": "not_met", "evidence-pager-load": "x"})
    assert response.status_code == 403
    assert 'name="status-pager-load"' not in page(client.get(f"/reviews/{review.id}"))
    assert db.session.scalar(select(Answer.status)) == "met"


def test_a_consultant_who_answered_items_cannot_approve(client, login, setting):
    helper = setting["consultant"]
    helper.teams.append(setting["team"])
    db.session.commit()
    login(helper)
    review_id = start(client, setting)
    client.post(f"/reviews/{review_id}/answers", data={**DONE, "action": "submit"})
    assert db.session.get(Review, review_id).state == "submitted"
    shown = page(client.get(f"/reviews/{review_id}"))
    assert "another consultant must approve it" in shown
    refused = decide(client, review_id, "approve", "Looks fine to me")
    assert refused.status_code == 422
    assert "separation of duties" in page(refused)
    assert db.session.get(Review, review_id).state == "submitted"
    # Requesting changes is still allowed.
    assert decide(client, review_id, "request_changes", "Add numbers").status_code == 302


def test_withdraw_a_draft(client, login, setting):
    login(setting["member"])
    review_id = start(client, setting)
    unconfirmed = client.post(f"/reviews/{review_id}/withdraw", follow_redirects=True)
    assert "tick the box to confirm the withdrawal" in page(unconfirmed)
    assert db.session.get(Review, review_id).state == "draft"
    assert client.post(f"/reviews/{review_id}/withdraw",
                       data={"confirm": "yes"}).status_code == 302
    assert db.session.get(Review, review_id).state == "withdrawn"
    assert client.post(f"/reviews/{review_id}/withdraw",
                       data={"confirm": "yes"}).status_code == 403


def test_my_work_lists_consultants_waiting_reviews_oldest_first(client, login, setting):
    first = submitted_review(setting)
    second = submitted_review(setting)
    first.submitted_at, second.submitted_at = second.submitted_at, first.submitted_at
    db.session.commit()
    login(setting["consultant"])
    text = page(client.get("/my-work"))
    positions = [text.index(f"/reviews/{r.id}\"") for r in (first, second)]
    older_first = sorted((r.submitted_at, r.id) for r in (first, second))
    assert [i for _, i in sorted(zip(positions, (first.id, second.id), strict=True))] == [
        i for _, i in older_first]


def test_export_is_a_markdown_document(client, login, setting):
    review = make_review(service=setting["service"], checklist_version=setting["version"],
                         state="approved",
                         answers=[("pager-load", "met", "Two pages a **week**"),
                                  ("alert-runbooks", "not_applicable", "No alerts yet")])
    db.session.commit()
    login(setting["member"])
    response = client.get(f"/reviews/{review.id}/export.md")
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    text = page(response)
    assert text.startswith("# Launch Readiness Review: Checkout")
    assert "### Pager load is supportable" in text
    assert "\nTwo pages a **week**\n" in text
    assert "**Not applicable**" in text
    assert f"`{review.content_hash}`" in text
    assert re.search(r"### Approved by User \d+", text)


CODE_EVIDENCE = (
    "The alert fires on `rate(x[5m]) > 0.01 && p99 < 800ms` and on ``a `tick` & <b>``:\n"
    "\n"
    "```promql\n"
    "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.01 && on() <x>\n"
    "    indented & \"quoted\" <not html>\n"
    "```\n"
    "\n"
    "~~~\n"
    "a fence of ``` inside & <tilde>\n"
    "~~~\n"
    "Prose with <b>tags</b> & a lone ` backtick.")


def test_the_export_keeps_code_byte_for_byte(client, login, setting):
    """Issue 19, defect 2: code in evidence is exported verbatim and a CommonMark viewer
    shows exactly that code; the prose around it stays inert."""
    review = make_review(service=setting["service"], checklist_version=setting["version"],
                         answers=[("pager-load", "met", CODE_EVIDENCE)])
    db.session.commit()
    login(setting["member"])
    text = page(client.get(f"/reviews/{review.id}/export.md"))
    for code in ("rate(x[5m]) > 0.01 && p99 < 800ms", "a `tick` & <b>",
                 "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.01 && "
                 "on() <x>\n    indented & \"quoted\" <not html>",
                 "a fence of ``` inside & <tilde>"):
        assert code in text
    rendered = MarkdownIt("commonmark").render(text)
    codes = [html.unescape(c) for c in re.findall(r"<code[^>]*>(.*?)</code>", rendered,
                                                  re.DOTALL)]
    assert "rate(x[5m]) > 0.01 && p99 < 800ms" in codes
    assert "a `tick` & <b>" in codes
    assert ("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.01 && on() "
            "<x>\n    indented & \"quoted\" <not html>\n") in codes
    assert "a fence of ``` inside & <tilde>\n" in codes
    assert 'class="language-promql"' in rendered
    prose = rendered.split("a fence of")[1]
    assert "<b>" not in prose and "&lt;b&gt;tags&lt;/b&gt;" in prose
    assert "a lone ` backtick" in prose


def test_unknown_reviews_are_404(client, login, setting):
    login(setting["member"])
    assert client.get("/reviews/999").status_code == 404
    assert client.post("/reviews/999/answers", data={}).status_code == 404


def test_a_consultant_whose_answer_was_overwritten_still_cannot_approve(
        client, login, setting, app):
    helper = setting["consultant"]
    helper.teams.append(setting["team"])
    db.session.commit()
    login(helper)
    review_id = start(client, setting)
    client.post(f"/reviews/{review_id}/answers", data={**DONE, "action": "save"})
    member = app.test_client()
    member.post("/login", data={"email": "member@example.com", "password": "correct horse"})
    rewritten = {**DONE, "evidence-pager-load": "Rewritten by the team.",
                 "evidence-alert-runbooks": "Rewritten too.", "action": "submit"}
    assert member.post(f"/reviews/{review_id}/answers", data=rewritten).status_code == 302
    assert {a.answered_by_id for a in db.session.get(Review, review_id).answers} == {
        setting["member"].id}
    refused = decide(client, review_id, "approve", "Fine")
    assert refused.status_code == 422
    assert db.session.get(Review, review_id).state == "submitted"


@pytest.mark.parametrize("link", ["javascript:alert(1)", "http://[oops", "ftp://x.example/a",
                                  "https://", "https://a.example/ b", "x" * 600])
def test_bad_links_are_refused_with_a_message_never_a_crash(client, login, setting, link):
    login(setting["member"])
    review_id = start(client, setting)
    response = client.post(f"/reviews/{review_id}/answers",
                           data={"status-alert-runbooks": "met", "link-alert-runbooks": link})
    assert response.status_code == 422
    assert "Some answers need correcting" in page(response)


CHECKED = {
    "id": "launch-readiness", "title": "Launch Readiness Review", "stage": "launch",
    "version": 1, "sections": [{"id": "alerting", "title": "Pager alerts", "items": [
        {"id": "pager-load", "title": "Pager load is supportable", "required": True,
         "evidence": "none",
         "check": {"fact": "pages_per_week", "op": "<=", "value": 5, "max_age_days": 7}},
    ]}],
}


@pytest.mark.parametrize(("facts", "answer", "blocked_by"), [
    ([], {}, "automated check: no pages_per_week fact yet (needs pages_per_week <= 5)"),
    ([(9.0, 1)], {}, "automated check: pages_per_week = 9, needs pages_per_week <= 5"),
    ([(2.0, 10)], {}, "automated check: pages_per_week = 2 is 10 days old: too old to count"),
    ([(2.0, 1)], {}, None),
    ([(9.0, 1)], {"status-pager-load": "not_applicable",
                  "evidence-pager-load": "Batch job: nobody is paged."}, None),
])
def test_a_required_automated_check_must_pass_to_submit(client, login, setting, facts, answer,
                                                        blocked_by):
    service = setting["service"]
    review = make_review(service=service, checklist_version=make_checklist_version(
        version=2, content=CHECKED))
    now = utcnow()
    record_facts(service, [FactInput("pages_per_week", value, now - timedelta(days=age), "pd")
                           for value, age in facts], actor=None)
    db.session.commit()
    login(setting["member"])
    shown = page(client.get(f"/reviews/{review.id}"))
    assert "Automated check <code>pages_per_week &lt;= 5</code>" in shown
    response = client.post(f"/reviews/{review.id}/answers", data={**answer, "action": "submit"})
    if blocked_by is None:
        assert response.status_code == 302
        assert db.session.get(Review, review.id).state == "submitted"
    else:
        assert response.status_code == 422
        assert blocked_by in html.unescape(page(response))
        assert db.session.get(Review, review.id).state == "draft"


def test_a_second_review_of_an_open_checklist_is_refused_and_leads_to_the_open_one(
        client, login, setting):
    """Issue 19, defect 7: one open review per checklist and service, named by number."""
    login(setting["member"])
    first = start(client, setting)
    again = client.post("/services/checkout/reviews",
                        data={"checklist_version_id": setting["version"].id})
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/reviews/{first}")
    shown = page(client.get(again.headers["Location"]))
    assert f"Review #{first} of Launch Readiness Review is still open" in shown
    assert f"<h1>Review #{first}: Launch Readiness Review" in shown
    assert db.session.scalar(select(func.count()).select_from(Review)) == 1
    assert f"Review #{first}: Launch Readiness Review" in page(client.get("/my-work"))

    assert client.post(f"/reviews/{first}/withdraw",
                       data={"confirm": "yes"}).status_code == 302
    second = start(client, setting)  # withdrawn: a new one may start
    assert second != first


@pytest.mark.parametrize(("state", "stage"), [("development", "launch"),
                                              ("self_managed", "handoff"),
                                              ("ops_managed", "launch")])
def test_the_checklist_picker_starts_at_the_stage_the_service_needs(
        client, login, setting, state, stage):
    handoff = make_checklist_version("handoff-readiness", stage="handoff")
    setting["service"].state = state
    db.session.commit()
    login(setting["member"])
    picker = page(client.get("/services/checkout")).split('id="checklist_version_id"')[1]
    picker = picker[:picker.index("</select>")]
    expected = setting["version"] if stage == "launch" else handoff
    assert re.search(rf'<option value="{expected.id}" selected>', picker), picker
    assert picker.count("selected") == 1


def test_a_blocked_check_shows_how_to_send_its_fact_and_the_example_works(
        client, login, setting):
    """Issue 19 ("also expected"): the API call with the service's slug filled in; sent
    as shown (with a real token), it stores the fact and the check passes."""
    from readiness.commands.tokens import create_token

    review = make_review(service=setting["service"], checklist_version=make_checklist_version(
        version=2, content=CHECKED))
    token = create_token(setting["member"], name="ci", actor=setting["member"])[1]
    db.session.commit()
    login(setting["member"])
    shown = page(client.get(f"/reviews/{review.id}"))
    assert "<summary>How to send pages_per_week</summary>" in shown
    example = html.unescape(shown[shown.index("curl -X POST"):shown.index("</code></pre>")])
    url = re.search(r"curl -X POST (\S+)", example).group(1)
    assert url == "http://localhost/api/v1/services/checkout/facts"
    body = re.search(r"-d '(.+)'", example).group(1)
    sent = client.post(url.removeprefix("http://localhost"), data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    after = page(client.get(f"/reviews/{review.id}"))
    assert "How to send pages_per_week" not in after  # the check passes now
    assert "<strong>passes</strong>" in after


def test_a_checklist_version_can_be_read_item_by_item(client, login, setting):
    """Issue 19 ("also expected"): linked from the admin page and from each review."""
    review = make_review(service=setting["service"], checklist_version=setting["version"])
    db.session.commit()
    login(setting["member"])
    review_page = page(client.get(f"/reviews/{review.id}"))
    link = f'href="/checklists/{setting["version"].id}"'
    assert link in review_page
    shown = page(client.get(f"/checklists/{setting['version'].id}"))
    assert "<h1>Launch Readiness Review <span class=\"sub\">version 1</span></h1>" in shown
    assert "3 items, 2 required" in shown
    assert "Pager load is supportable" in shown and "<em>a week</em>" in shown
    assert "A failure drill was run <span class=\"optional\">(optional)</span>" in shown
    assert client.get("/checklists/999").status_code == 404


def test_only_the_checklists_that_apply_are_offered_and_started(client, login, setting):
    from ..factories import SMALL_CHECKLIST
    low_risk = make_checklist_version(
        "launch-low-risk", content={**SMALL_CHECKLIST, "title": "Low-Risk Launch Review",
                                    "applies_to": {"tiers": [3]}})
    tool = make_service(slug="wiki-bot", name="Wiki bot", team=setting["team"], tier=3)
    db.session.commit()
    login(setting["member"])
    checkout = page(client.get("/services/checkout"))  # tier 2
    assert "Low-Risk Launch Review" not in checkout
    assert "Low-Risk Launch Review" in page(client.get("/services/wiki-bot"))
    refused = client.post("/services/checkout/reviews",
                          data={"checklist_version_id": low_risk.id})
    assert "Low-Risk Launch Review does not apply to Checkout (tier 2)." in html.unescape(
        page(client.get("/services/checkout")) + page(refused))
    assert db.session.scalars(select(Review)).all() == []
    started = client.post("/services/wiki-bot/reviews",
                          data={"checklist_version_id": low_risk.id})
    assert started.status_code == 302 and tool.id
