"""Changing who supports a service: launch, hand off, hand back, retire."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..commands import lifecycle as support
from ..commands import pager as pager_commands
from ..domain import charts, lifecycle, pager, permissions
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import Service, utcnow
from ..queries import lifecycle as situations
from ..queries.checklists import handoff_item_titles
from ..queries.facts import latest_facts
from ..queries.pager import (
    capacity_setting,
    latest_load_fact,
    ledger,
    ledger_history,
    over_cap_handoffs,
    trial_pages,
    trials_of,
)
from ..queries.reviews import open_review_count
from . import carry
from .errors import found, require

bp = Blueprint("lifecycle", __name__)

DONE = {
    "launch": "{name} is launched: its team carries the pager.",
    "handoff": "{name} is handed off: Ops carries the pager now.",
    "handback": "{name} is handed back to {team}.",
    "retire": "{name} is retired.",
}


def load_service(slug):
    return found(db.session.scalar(select(Service).where(Service.slug == slug)), "service")


ENDPOINTS = {"launch": "lifecycle.launch", "handoff": "lifecycle.hand_off",
             "handback": "lifecycle.hand_back", "retire": "lifecycle.retire"}


@dataclass(frozen=True)
class Action:
    """A transition as the service page offers it: a form, a link to one, or what it needs."""

    kind: str
    label: str
    url: str
    is_offered: bool
    is_link: bool
    needs_reason: bool
    missing: tuple


def support_panel(service, user):
    """What the service page shows about who supports the service and what may change."""
    now = utcnow()
    # A reason is typed in the form itself, so its absence is not "missing" here.
    situation = situations.situation(service, user, reason="to be given", now=now)
    actions = []
    if permissions.can_change_support(user):
        for kind, outcome in lifecycle.available(situation).items():
            actions.append(Action(
                kind, lifecycle.TRANSITION_LABELS[kind],
                url_for(ENDPOINTS[kind], slug=service.slug), outcome.allowed,
                is_link=kind in ("handback", "handoff"),
                needs_reason=kind in lifecycle.NEEDS_REASON,
                missing=outcome.missing))
    found = situations.gate(service.slug, now)
    return {
        "gate": found.decision, "override": found.override,
        "can_hand_off": permissions.can_accept_handoff(user),
        "trials": trials_of(service.id, 10) if service.state != "development" else [],
        "launch_approval": situation.launch_approval,
        "last_event": situations.last_event(service.id),
        "return_conditions": situations.open_return_conditions(service),
        "item_titles": handoff_item_titles(),
        "actions": actions,
        "event_labels": lifecycle.EVENT_LABELS,
        "open_reviews": open_review_count(service.id) if service.state != "retired" else 0,
        # A handoff leans on a live launch approval: say when that runs out soon.
        "launch_expires_soon": (situation.launch_approval is not None
                                and situation.launch_approval.expires_within(now)),
        "rereview_reasons": (situations.rereview_reasons(service, now)
                             if service.state != "retired" else []),
    }


def _do(service, kind, confirmed=True, **details):
    if kind == "handoff":
        require(permissions.can_accept_handoff(current_user),
                "Only an ops lead accepts a service into Ops management.")
    require(permissions.can_change_support(current_user),
            "Only ops leads and admins change who supports a service.")
    if not confirmed:
        flash(f"Nothing changed: tick the box to confirm that {service.name} is to be "
              f"{lifecycle.EVENT_LABELS[kind]}. It cannot be undone.", "error")
        return False
    try:
        support.transition(service, kind, actor=current_user, **details)
    except lifecycle.TransitionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    flash(DONE[kind].format(name=service.name, team=service.team.name), "success")
    return True


@bp.post("/services/<slug>/launch")
@login_required
def launch(slug):
    service = load_service(slug)
    _do(service, "launch", reason=request.form.get("reason", ""))
    return redirect(url_for("services.show", slug=slug))


def _attempt(service, kind, **details):
    """Make the transition for a form page: {} when it was made (not committed yet),
    else {field or "form": what is wrong}, with nothing changed."""
    try:
        support.transition(service, kind, actor=current_user, **details)
    except lifecycle.TransitionRefused as exc:
        db.session.rollback()
        return {"form": str(exc)}
    except InvalidInput as exc:
        db.session.rollback()
        return {exc.field or "form": str(exc)}
    return {}


def handoff_context(service, formdata=None, errors=None, hours=None):
    """What the hand-off page shows: what a handoff still needs, the pager trials, the
    Ops ledger before and after taking the service (its cost follows the ops-managed
    services, which Ops' cap keeps bounded), and the form."""
    now = utcnow()
    fact = latest_load_fact(service.id)
    load = pager.load_of(fact, hours)  # as the ledger will count it: the fact first
    hours = fact if hours is None else hours
    book, _ = ledger()
    situation = situations.situation(service, current_user, reason="to be given", now=now)
    outcome = lifecycle.check("handoff", situation)
    trials = trials_of(service.id)
    return {
        "service": service, "form": formdata or {}, "errors": errors or {},
        "missing": outcome.missing, "trials": trials,
        "trial_pages": trial_pages(trials), "ledger": book, "hours": hours,
        "load_fact": fact, "after": book.after_taking(service.name, load),
        "over": book.is_over(load),
        "launch_approval": situation.launch_approval,
        "launch_expires_soon": (situation.launch_approval is not None
                                and situation.launch_approval.expires_within(now)),
        "today": now.date(), "can_record": permissions.can_accept_handoff(current_user),
    }


@bp.route("/services/<slug>/hand-off", methods=["GET", "POST"])
@login_required
def hand_off(slug):
    """The handoff page (what it needs, the trials, the ledger after taking it) and its
    form: a load estimate, a note and, above the cap, the reason to go over."""
    service = load_service(slug)
    require(permissions.can_accept_handoff(current_user),
            "Only an ops lead accepts a service into Ops management.")
    if request.method == "GET":
        return render_template("lifecycle/hand_off.html", **handoff_context(service))
    form = request.form
    errors, hours = {}, None
    try:
        hours = pager.parse_hours(form.get("ops_hours", ""), field="ops_hours",
                                  allow_empty=True)
    except InvalidInput as exc:
        errors["ops_hours"] = str(exc)
    if not errors:
        errors = _attempt(service, "handoff", reason=form.get("reason", ""),
                          ops_hours_estimate=hours,
                          over_cap_reason=form.get("over_cap_reason", ""))
    if errors:
        return render_template("lifecycle/hand_off.html", **handoff_context(
            service, form, errors, hours)), 422
    db.session.commit()
    flash(DONE["handoff"].format(name=service.name, team=service.team.name), "success")
    return redirect(url_for("services.show", slug=slug))


def _rerender_hand_off(view_args, formdata):
    service = load_service(view_args["slug"])
    require(permissions.can_accept_handoff(current_user))
    return render_template("lifecycle/hand_off.html", **handoff_context(service, formdata))


carry.register("lifecycle.hand_off", _rerender_hand_off)


@bp.post("/services/<slug>/trials")
@login_required
def record_trial(slug):
    service = load_service(slug)
    require(permissions.can_accept_handoff(current_user),
            "Only an ops lead records pager trials.")
    form = request.form
    try:
        trial = pager.parse_trial(
            started_on=form.get("started_on"), ended_on=form.get("ended_on"),
            shadow=form.get("shadow"), pages_total=form.get("pages_total"),
            pages_actionable=form.get("pages_actionable"), outcome=form.get("outcome"),
            notes=form.get("notes"), today=utcnow().date())
        pager_commands.record_trial(service, trial, actor=current_user)
    except InvalidInput as exc:
        db.session.rollback()
        errors = {f"trial_{exc.field or 'form'}": str(exc)}
        return render_template("lifecycle/hand_off.html",
                               **handoff_context(service, form, errors)), 422
    db.session.commit()
    flash(f"Pager trial recorded: {trial.outcome}.", "success")
    return redirect(url_for("lifecycle.hand_off", slug=slug, _anchor="trials-title"))


@bp.post("/services/<slug>/override")
@login_required
def override(slug):
    """Break-glass: an ops lead lets the gate answer yes for up to 24 hours."""
    service = load_service(slug)
    require(permissions.can_accept_handoff(current_user),
            "Only an ops lead grants a break-glass override of the gate.")
    now = utcnow()
    hours = request.form.get("hours", "")
    try:
        span = pager.parse_hours(hours, field="expires_at", most=24)
        pager_commands.grant_override(service, actor=current_user,
                                      reason=request.form.get("reason", ""),
                                      expires_at=now + timedelta(hours=span or 0), now=now)
    except InvalidInput as exc:
        db.session.rollback()
        flash(f"No override: {exc}", "error")
        return redirect(url_for("services.show", slug=slug, _anchor="support-title"))
    db.session.commit()
    flash(f"Break-glass override granted for {span:g} hours: the gate lets "
          f"{service.name} through until then.", "success")
    return redirect(url_for("services.show", slug=slug, _anchor="support-title"))


@bp.post("/services/<slug>/retire")
@login_required
def retire(slug):
    service = load_service(slug)
    _do(service, "retire", reason=request.form.get("reason", ""),
        confirmed=request.form.get("confirm") == "yes")
    return redirect(url_for("services.show", slug=slug))


def handback_context(service, formdata, errors):
    now = utcnow()
    facts = latest_facts([service.id]).get(service.id, {})
    return {
        "service": service, "facts": sorted(facts.items()), "now": now,
        "failing": situations.failing_handback_items(facts, now),
        "handoff_items": handoff_item_titles(), "form": formdata, "errors": errors,
        "chosen_items": set(formdata.getlist("return_items")) if formdata else set(),
    }


@bp.route("/services/<slug>/hand-back", methods=["GET", "POST"])
@login_required
def hand_back(slug):
    service = load_service(slug)
    require(permissions.can_change_support(current_user),
            "Only ops leads and admins hand services back.")
    if request.method == "GET":
        return render_template("lifecycle/hand_back.html",
                               **handback_context(service, None, {}))
    errors = {}
    reason = request.form.get("reason", "").strip()
    if not reason:
        errors["reason"] = "Say why the service goes back to its team."
    target_date = None
    raw_date = request.form.get("target_date", "").strip()
    if raw_date:
        try:
            target_date = date.fromisoformat(raw_date)
        except ValueError:
            errors["target_date"] = "Give the date as YYYY-MM-DD."
    return_items = request.form.getlist("return_items")
    if not errors:
        errors = _attempt(service, "handback", reason=reason,
                          return_conditions=request.form.get("return_conditions", ""),
                          return_items=return_items, target_date=target_date)
    if errors:
        return render_template("lifecycle/hand_back.html",
                               **handback_context(service, request.form, errors)), 422
    db.session.commit()
    flash(DONE["handback"].format(name=service.name, team=service.team.name), "success")
    return redirect(url_for("services.show", slug=slug))


def _rerender_hand_back(view_args, formdata):
    service = load_service(view_args["slug"])
    require(permissions.can_change_support(current_user))
    return render_template("lifecycle/hand_back.html",
                           **handback_context(service, formdata, {}))


carry.register("lifecycle.hand_back", _rerender_hand_back)


@bp.get("/ledger")
@login_required
def ledger_page():
    """The Ops capacity ledger: load against the 50 % cap, per service, over time."""
    now = utcnow()
    book, loads = ledger()
    history = ledger_history(now)
    chart = charts.bar_chart(
        "Ops load by week", "Hours a week of Ops work on the services Ops carried at the "
        "end of each week; the cap is half the capacity set then.",
        [(f"{day:%d %b}", load) for day, load, _ in history], unit="hours", decimals=1,
        axis="Week ending")
    return render_template("lifecycle/ledger.html", ledger=book, loads=loads, chart=chart,
                           history=history, setting=capacity_setting(),
                           over_cap=over_cap_handoffs(),
                           can_set=permissions.can_accept_handoff(current_user))


@bp.post("/ledger/capacity")
@login_required
def set_capacity():
    require(permissions.can_accept_handoff(current_user),
            "Only an ops lead sets Ops' capacity.")
    try:
        hours = pager.parse_hours(request.form.get("hours", ""), field="hours",
                                  most=pager.MAX_CAPACITY_HOURS)
        if not hours:
            raise InvalidInput("Ops capacity is more than 0 hours a week.", field="hours")
    except InvalidInput as exc:
        flash(f"Capacity not changed: {exc}", "error")
        return redirect(url_for("lifecycle.ledger_page"))
    pager_commands.set_capacity(hours, actor=current_user)
    db.session.commit()
    flash(f"Ops capacity set to {hours:g} engineer-hours a week.", "success")
    return redirect(url_for("lifecycle.ledger_page"))
