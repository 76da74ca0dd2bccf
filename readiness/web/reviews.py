"""Reviews: start, fill in, submit, decide, withdraw, export; and "My work"."""

from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import commands
from ..commands.reviews import AnswerInput, confirm_answers, validate_answers
from ..domain import checklists, permissions, reviews, waivers
from ..domain.reviews import STATUS_LABELS, ReviewAlreadyOpen, ReviewRefused
from ..extensions import db
from ..faults import give_up_writing, is_busy, takes_no_changes
from ..models import (
    ANSWER_STATUSES,
    ChecklistVersion,
    Decision,
    Review,
    Service,
    Waiver,
    utcnow,
)
from ..queries import dashboard, work
from ..queries import lifecycle as situations
from ..queries.campaigns import team_campaign_services
from ..queries.checklists import current_versions
from ..queries.reviews import (
    answer_states,
    answered_by_ids,
    current_waivers,
    previous_approval_before,
    review_status,
)
from . import carry
from .errors import MAX_ID, found, require
from .review_export import export_markdown

bp = Blueprint("reviews", __name__)
# "My work" shows at most this many of each list, oldest first, with the total.
MY_WORK_LIMIT = 100


def load_review(review_id, for_update=False):
    """The review with what its page shows; `for_update` locks its row until commit, so
    a save compares versions and writes as one step (PostgreSQL; SQLite write requests
    already hold the database's write lock)."""
    query = select(Review).where(Review.id == review_id)
    if for_update:
        query = query.with_for_update(of=Review).execution_options(populate_existing=True)
    review = db.session.scalar(
        query.options(
            selectinload(Review.answers),
            selectinload(Review.decisions).selectinload(Decision.consultant),
            selectinload(Review.service).selectinload(Service.team),
            selectinload(Review.checklist_version),
            selectinload(Review.waivers).selectinload(Waiver.requested_by),
            selectinload(Review.waivers).selectinload(Waiver.decided_by),
        )
    )
    return found(review, "review")


@dataclass
class ItemView:
    """One checklist item as the review page shows it."""

    section_id: str
    item: dict
    status: str | None
    evidence: str
    link: str
    error: str | None
    blocker: str | None
    comment: str
    check: object = None
    # On a conflict: the answer someone else saved since the person's page was made.
    saved_meanwhile: object = None
    # The version of the stored answer the form is based on (0: none yet), posted back
    # as seen-<item>, so a conflict can tell which answers changed since.
    seen_version: int = 0
    # On a resubmitted review: the answer changed after the last request for changes.
    changed_since_request: bool = False
    # The item's waiver asked for or granted, if any.
    waiver: object = None
    # A re-review: the review its answer was carried from while not yet confirmed; and
    # how the item compares with the checklist version of the previous approval.
    carried_from: int | None = None
    compared: str | None = None


def item_views(review, formdata=None, errors=None, blockers=None, checks=None,
               is_conflict=False, viewer_id=None, compared=None):
    """Each item with the values to show: posted ones when re-showing a form, else saved.

    On a conflict, an item notes the answer saved meanwhile only where another person
    saved it after the person's page was made (its version is not the one the form was
    based on), whatever the text: untouched answers and the person's own typing get no
    note. A form without versions (an older page) compares texts, CRLF as LF."""
    saved = {a.item_id: a for a in review.answers}
    last_request = next((d for d in reversed(review.decisions)
                         if d.verdict == "request_changes"), None)
    comments = last_request.item_comments if last_request else {}
    blockers = {b.item_id: b.reason for b in (blockers or [])}
    waivers = current_waivers(review)
    compared = compared or {}
    views = []
    for section, item in checklists.items_of(review.checklist_version.content):
        item_id = item["id"]
        if formdata is not None:
            status = formdata.get(f"status-{item_id}") or None
            evidence = formdata.get(f"evidence-{item_id}", "")
            link = formdata.get(f"link-{item_id}", "")
        else:
            answer = saved.get(item_id)
            status = answer.status if answer else None
            evidence = answer.evidence if answer else ""
            link = (answer.link or "") if answer else ""
        current = saved.get(item_id)
        current_version = current.version_id if current is not None else 0
        seen = _seen_version(formdata, item_id)
        meanwhile = None
        if is_conflict and current is not None and current.answered_by_id != viewer_id:
            if seen is not None:
                changed = current_version != seen
            else:
                changed = (current.status, current.evidence, current.link or "") != (
                    status, evidence.replace("\r\n", "\n"), link.strip())
            meanwhile = current if changed else None
        # A conflict's page shows what is stored now: the next save builds on that.
        based_on = current_version if is_conflict or seen is None else seen
        changed_since = (last_request is not None and current is not None
                         and current.updated_at > last_request.created_at)
        views.append(ItemView(section["id"], item, status, evidence, link,
                              (errors or {}).get(item_id), blockers.get(item_id),
                              comments.get(item_id, ""), (checks or {}).get(item_id),
                              meanwhile, based_on, changed_since, waivers.get(item_id),
                              current.carried_from_id if current is not None else None,
                              compared.get(item_id)))
    return views


def _seen_version(formdata, item_id):
    raw = formdata.get(f"seen-{item_id}", "") if formdata is not None else ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def posted_answers(review, formdata):
    """AnswerInput per checklist item from the posted form."""
    answers = {}
    for _, item in checklists.items_of(review.checklist_version.content):
        item_id = item["id"]
        if f"status-{item_id}" not in formdata and f"evidence-{item_id}" not in formdata:
            continue
        status = formdata.get(f"status-{item_id}") or None
        link = formdata.get(f"link-{item_id}", "").strip() or None
        answers[item_id] = AnswerInput(status, formdata.get(f"evidence-{item_id}", "")
                                       .replace("\r\n", "\n"), link)
    return answers


def render_review(review, *, formdata=None, errors=None, blockers=None, decision_form=None,
                  status=200, is_conflict=False, saved_in=None, saved_message=None,
                  waiver_form=None, waiver_errors=None, waiver_decision=None):
    user = current_user
    content = review.checklist_version.content
    found = review_status(review)
    checks, done, total = found.checks, found.done, found.total
    answered = answered_by_ids(review)
    allowed = {
        "edit": permissions.can_edit_review(user, review),
        "submit": permissions.can_submit_review(user, review),
        "withdraw": permissions.can_withdraw_review(user, review),
        "decide": permissions.can_decide_review(user, review),
        "approve": permissions.can_approve_review(user, review, answered),
        "request_waiver": permissions.can_request_waiver(user, review),
    }
    waiver_actions = {w.id: {"decide": permissions.can_decide_waiver(user, w),
                             "withdraw": permissions.can_withdraw_waiver(user, w),
                             "own": w.requested_by_id == getattr(user, "id", None)}
                      for w in review.waivers}
    waivable = [item for _, item in checklists.items_of(content)
                if item["id"] not in current_waivers(review)]
    today = utcnow().date()
    previous = (db.session.get(Review, review.previous_review_id)
                if review.previous_review_id else None)
    compared = (reviews.compare_items(previous.checklist_version.content, content)
                if previous is not None else {})
    approval_refusal = permissions.approval_refusal(user, review, answered)
    return render_template(
        "reviews/show.html", review=review, service=review.service,
        checklist=content,
        items=item_views(review, formdata, errors, blockers, checks, is_conflict,
                         viewer_id=getattr(user, "id", None), compared=compared),
        previous=previous,
        removed=(reviews.removed_items(previous.checklist_version.content, content)
                 if previous is not None else []),
        sections=content["sections"], done=done, total=total, allowed=allowed,
        approval_refusal=approval_refusal,
        blockers=blockers or [], statuses=ANSWER_STATUSES, status_labels=STATUS_LABELS,
        decision_form=decision_form or {}, is_form_refilled=formdata is not None,
        waiver_actions=waiver_actions, waivable=waivable, waiver_form=waiver_form or {},
        waiver_errors=waiver_errors or {}, waiver_decision=waiver_decision or {},
        waiver_latest=today + timedelta(days=waivers.max_waiver_days(content)),
        waiver_earliest=today + timedelta(days=1), today=today,
        waiver_labels={state.value: state.label for state in waivers.WaiverState},
        item_titles={item["id"]: item["title"] for _, item in checklists.items_of(content)},
        saved_in=saved_in, saved_message=saved_message,
        now_rfc3339=utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        # The version the person's typing is based on: what they last saw.
        form_version=(review.version_id if is_conflict or formdata is None
                      else formdata.get("version", review.version_id)),
    ), status


@bp.get("/reviews/<int:review_id>")
@login_required
def show(review_id):
    review = load_review(review_id)
    # After a section's save: its confirmation is shown in that section (see _save).
    saved = request.args.get("saved", "")
    changed = request.args.get("changed", "")
    saved_in = saved if saved in section_anchors(review) else None
    message = None
    if saved_in is not None:
        count = int(changed) if changed.isascii() and changed.isdigit() else 0
        message = saved_message(min(count, 10_000))
    # "Ask to waive this item" links here with the item chosen in the request form.
    waive = request.args.get("waive", "")
    return render_review(review, saved_in=saved_in, saved_message=message,
                         waiver_form={"item": waive} if waive else None)


def section_anchors(review):
    return {f"section-{s['id']}" for s in review.checklist_version.content["sections"]}


def saved_message(changed):
    return (f"Saved ({changed} item{'s' if changed != 1 else ''} changed)." if changed
            else "Saved: nothing had changed.")


@bp.post("/services/<slug>/reviews")
@login_required
def start(slug):
    service = found(db.session.scalar(select(Service).where(Service.slug == slug)), "service")
    require(permissions.can_start_review(current_user, service),
            "Only members of the owning team can start a review of this service.")
    version_id = request.form.get("checklist_version_id", type=int)
    version = (db.session.get(ChecklistVersion, version_id)
               if version_id and 0 < version_id <= MAX_ID else None)
    if version is None or version not in current_versions(reviews.REVIEWED_STAGES):
        flash("Choose a checklist to review against.", "error")
        return redirect(url_for("services.show", slug=slug))
    try:
        review = commands.start_review(service, version, actor=current_user)
    except ReviewAlreadyOpen as exc:  # take the person to the review to finish
        flash(str(exc), "error")
        return redirect(url_for("reviews.show", review_id=exc.review_id))
    except ReviewRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("services.show", slug=slug))
    db.session.commit()
    flash(f"Review #{review.id} of {service.name} against {version.title} started.",
          "success")
    return redirect(url_for("reviews.show", review_id=review.id))


@bp.post("/reviews/<int:review_id>/answers")
@login_required
def save(review_id):
    """Save the answers (and submit them when asked). When the database cannot take them
    (someone saved meanwhile, it is busy, or it takes no changes), the page comes back
    with the text as typed."""
    try:
        return _save(review_id)
    except StaleDataError:
        # Someone saved between our read and our write: their change stands, ours waits.
        db.session.rollback()
        return conflict(load_review(review_id))
    except DBAPIError as exc:
        if is_busy(exc):
            message = ("Many people are saving right now and yours could not get through. "
                       "Nothing was saved: your text is below. Save again in a moment.")
        elif takes_no_changes(exc):
            message = ("The database takes no changes right now (it is read-only or full). "
                       "Nothing was saved: your text is below. Save again later.")
        else:
            raise
        give_up_writing()
        flash(message, "error")
        return render_review(load_review(review_id), formdata=request.form, status=503)


def _save(review_id):
    review = load_review(review_id, for_update=True)
    require(permissions.can_edit_review(current_user, review),
            "You cannot change the answers of this review.")
    posted = posted_answers(review, request.form)
    errors = validate_answers(review.checklist_version.content, posted)
    if errors:
        flash("Some answers need correcting; nothing was saved. See the marked items.",
              "error")
        return render_review(review, formdata=request.form, errors=errors, status=422)
    seen_version = request.form.get("version", type=int)
    if seen_version is not None and seen_version != review.version_id:
        return conflict(review)
    changed = commands.save_answers(review, posted, actor=current_user)
    # "Confirm" on a carried answer (or on all of them) saves what was typed, then
    # confirms the carried answers asked for that are still as carried.
    confirm = request.form.get("confirm", "")
    if confirm:
        carried = [a.item_id for a in review.answers if a.carried_from_id is not None]
        confirmed = confirm_answers(review, carried if confirm == "all" else [confirm],
                                    actor=current_user)
        changed = [*changed, *confirmed]
    # Decided before the commit: after it nothing here touches the database again.
    anchor = request.form.get("section", "")
    anchor = anchor if anchor in section_anchors(review) else ""
    if request.form.get("action") == "submit":
        try:
            commands.submit_review(review, actor=current_user)
        except commands.SubmitRefused as exc:
            db.session.commit()  # keep the answers just saved
            flash(f"Your answers are saved, but the review cannot be submitted yet: "
                  f"{exc}", "error")
            return render_review(review, blockers=exc.blockers, status=422)
        db.session.commit()
        flash("Submitted: a consultant will review it.", "success")
        return redirect(url_for("reviews.show", review_id=review_id))
    db.session.commit()
    # Back to the section saved, when it is one of the checklist's (never text copied as
    # is), with the confirmation shown there, where the person is; else at the top. The
    # address names the confirmation itself: a focusable fragment target, so the browser
    # scrolls to it and gives it keyboard focus, with no script.
    if anchor:
        return redirect(url_for("reviews.show", review_id=review_id, saved=anchor,
                                changed=len(changed),
                                _anchor="saved-" + anchor.removeprefix("section-")))
    flash(saved_message(len(changed)), "success")
    return redirect(url_for("reviews.show", review_id=review_id))


def conflict(review):
    """The form again, with what was typed, next to what someone else saved meanwhile."""
    flash("Someone else saved this review while you were editing it. Nothing of yours "
          "was saved: your text is below, with their saved answers next to each item "
          "where they differ. Check, then save again.", "error")
    return render_review(review, formdata=request.form, status=409, is_conflict=True)


def _rerender_answers(view_args, formdata):
    review = load_review(view_args["review_id"])
    require(permissions.can_edit_review(current_user, review))
    return render_review(review, formdata=formdata)


carry.register("reviews.save", _rerender_answers)


@bp.post("/reviews/<int:review_id>/decision")
@login_required
def decide(review_id):
    review = load_review(review_id)
    require(permissions.can_decide_review(current_user, review),
            "Only a consultant can decide a submitted review.")
    verdict = request.form.get("verdict", "")
    comment = request.form.get("comment", "")
    known = {item["id"] for _, item in checklists.items_of(review.checklist_version.content)}
    item_comments = {key[len("item-comment-"):]: value for key, value in request.form.items()
                     if key.startswith("item-comment-") and key[len("item-comment-"):] in known}
    try:
        commands.decide_review(review, actor=current_user, verdict=verdict, comment=comment,
                                 item_comments=item_comments)
    except (ReviewRefused, commands.InvalidInput) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        review = load_review(review_id)
        return render_review(review, decision_form=request.form, status=422)
    db.session.commit()
    flash("Approved and signed off." if verdict == "approve" else
          "Sent back to the team with your comments.", "success")
    return redirect(url_for("reviews.show", review_id=review.id))


def _rerender_decision(view_args, formdata):
    review = load_review(view_args["review_id"])
    require(permissions.can_decide_review(current_user, review))
    return render_review(review, decision_form=formdata)


carry.register("reviews.decide", _rerender_decision)


@bp.post("/reviews/<int:review_id>/withdraw")
@login_required
def withdraw(review_id):
    review = load_review(review_id)
    require(permissions.can_withdraw_review(current_user, review),
            "Only the owning team can withdraw a draft review.")
    if request.form.get("confirm") != "yes":
        flash("Nothing changed: tick the box to confirm the withdrawal. A withdrawn "
              "review cannot be reopened.", "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    commands.withdraw_review(review, actor=current_user)
    db.session.commit()
    flash("The draft is withdrawn.", "success")
    return redirect(url_for("services.show", slug=review.service.slug))


@bp.get("/reviews/<int:review_id>/changes")
@login_required
def changes(review_id):
    """What changed against the previous approval of the same checklist: checklist items,
    answers and evidence (the re-review's own previous approval, else the latest one
    approved before this review was started)."""
    review = load_review(review_id)
    previous = (db.session.get(Review, review.previous_review_id)
                if review.previous_review_id else previous_approval_before(review))
    found = []
    if previous is not None:
        found = reviews.changes_since(previous.checklist_version.content,
                                      answer_states(previous),
                                      review.checklist_version.content,
                                      answer_states(review))
    total = sum(1 for _ in checklists.items_of(review.checklist_version.content))
    return render_template("reviews/changes.html", review=review, service=review.service,
                           previous=previous, changes=found, total=total,
                           status_labels=STATUS_LABELS)


@bp.get("/reviews/<int:review_id>/export.md")
@login_required
def export(review_id):
    review = load_review(review_id)
    filename = f"review-{review.id}-{review.service.slug}.md"
    return Response(export_markdown(review), mimetype="text/markdown",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/checklists/<int:version_id>")
@login_required
def checklist(version_id):
    """A checklist version's items, to read before or beside a review (anyone signed in:
    checklists are the organisation's shared requirements)."""
    version = found(db.session.get(ChecklistVersion, version_id), "checklist version")
    items = [item for _, item in checklists.items_of(version.content)]
    return render_template(
        "checklists/show.html", checklist=version.content, item_count=len(items),
        required_count=sum(checklists.is_required(item) for item in items),
        is_current=version in current_versions())


@bp.get("/my-work")
@login_required
def my_work():
    user = current_user
    team_ids = [team.id for team in user.teams]
    # Many-to-one loads joined, lists bounded: a fixed number of statements at any size.
    shown = (joinedload(Review.service).joinedload(Service.team),
             joinedload(Review.checklist_version))
    team_reviews, team_total = work.team_reviews(team_ids, MY_WORK_LIMIT, shown)
    now = utcnow()
    team_rereviews = (situations.needing_rereview(now, MY_WORK_LIMIT, team_ids=team_ids)
                      if team_ids else None)
    waivers_waiting = (work.waivers_waiting(MY_WORK_LIMIT) if user.is_consultant else None)
    team_campaigns = team_campaign_services(team_ids, now, MY_WORK_LIMIT)
    waiting, waiting_total = [], 0
    if user.is_consultant:
        submitted = select(Review).where(Review.state == "submitted")
        waiting_total = sum(dashboard.reviews_waiting_by_stage().values())
        waiting = db.session.scalars(
            submitted.options(*shown).order_by(Review.submitted_at, Review.id)
            .limit(MY_WORK_LIMIT)).all()
    queue = {}
    if user.is_ops_lead:
        queue = {"launch": work.ready_for("launch", now, MY_WORK_LIMIT),
                 "handoff": work.ready_for("handoff", now, MY_WORK_LIMIT),
                 "candidates": situations.handback_candidates(now, MY_WORK_LIMIT),
                 "expiring": dashboard.expiring_launch_approvals(now, MY_WORK_LIMIT),
                 "rereview": situations.needing_rereview(now, MY_WORK_LIMIT)}
    return render_template("reviews/my_work.html", team_reviews=team_reviews, waiting=waiting,
                           team_total=team_total, waiting_total=waiting_total, queue=queue,
                           team_rereviews=team_rereviews, waivers_waiting=waivers_waiting,
                           team_campaigns=team_campaigns, today=now.date(),
                           limit=MY_WORK_LIMIT)
