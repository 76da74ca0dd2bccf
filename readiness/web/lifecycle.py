"""Changing who supports a service: launch, hand off, hand back, retire."""

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..commands import lifecycle as support
from ..domain import lifecycle, permissions
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import Service, utcnow
from ..queries import lifecycle as situations
from ..queries.checklists import handoff_item_titles
from ..queries.facts import latest_facts
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
                is_link=kind == "handback", needs_reason=kind in lifecycle.NEEDS_REASON,
                missing=outcome.missing))
    return {
        "gate": situations.gate(service.slug, now).decision,
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


@bp.post("/services/<slug>/hand-off")
@login_required
def hand_off(slug):
    service = load_service(slug)
    _do(service, "handoff", reason=request.form.get("reason", ""))
    return redirect(url_for("services.show", slug=slug))


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
        try:
            support.transition(service, "handback", actor=current_user, reason=reason,
                               return_conditions=request.form.get("return_conditions", ""),
                               return_items=return_items, target_date=target_date)
        except lifecycle.TransitionRefused as exc:
            db.session.rollback()
            errors["form"] = str(exc)
        except InvalidInput as exc:
            db.session.rollback()
            errors[exc.field or "form"] = str(exc)
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
