"""Waivers on the review page: ask for one, grant or refuse it, withdraw it."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..commands import waivers as commands
from ..domain import permissions
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import Waiver
from . import carry
from .errors import found, require
from .reviews import load_review, render_review

bp = Blueprint("waivers", __name__)


def load_waiver(waiver_id):
    """The waiver, with its review's row locked until commit (PostgreSQL; SQLite write
    requests hold the database's write lock): a decision, a withdrawal and a submission
    of the same review happen one after the other, each on what the last one wrote."""
    review_id = db.session.scalar(select(Waiver.review_id).where(Waiver.id == waiver_id))
    review = load_review(found(review_id, "waiver"), for_update=True)
    return next(w for w in review.waivers if w.id == waiver_id)


def _back(review_id, waiver_id=None):
    return redirect(url_for("reviews.show", review_id=review_id,
                            _anchor=f"waiver-{waiver_id}" if waiver_id else "waivers"))


@bp.post("/reviews/<int:review_id>/waivers")
@login_required
def request_waiver(review_id):
    review = load_review(review_id, for_update=True)
    require(permissions.can_request_waiver(current_user, review),
            "Only the owning team asks for waivers, while the review is being filled in.")
    form = request.form
    try:
        waiver = commands.request_waiver(
            review, actor=current_user, item_id=form.get("item", ""),
            reason=form.get("reason", ""), control=form.get("control", ""),
            expires_on=form.get("expires_on", ""))
    except commands.WaiverInvalid as exc:
        db.session.rollback()
        flash("The waiver request needs correcting; nothing was saved.", "error")
        return render_review(load_review(review_id), waiver_form=form,
                             waiver_errors=exc.errors, status=422)
    except InvalidInput as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_review(load_review(review_id), waiver_form=form, status=422)
    db.session.commit()
    flash("Waiver requested: a consultant who did not ask for it decides.", "success")
    return _back(review_id, waiver.id)


def _rerender_request(view_args, formdata):
    review = load_review(view_args["review_id"])
    require(permissions.can_request_waiver(current_user, review))
    return render_review(review, waiver_form=formdata)


carry.register("waivers.request_waiver", _rerender_request)


@bp.post("/waivers/<int:waiver_id>/decision")
@login_required
def decide(waiver_id):
    waiver = load_waiver(waiver_id)
    require(permissions.can_decide_waiver(current_user, waiver),
            "Only a consultant decides a requested waiver, while its review is being "
            "filled in.")
    verdict = request.form.get("verdict", "")
    try:
        commands.decide_waiver(waiver, actor=current_user, verdict=verdict,
                               comment=request.form.get("comment", ""))
    except InvalidInput as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_review(load_review(waiver.review_id),
                             waiver_decision={"id": waiver_id, **request.form}, status=422)
    db.session.commit()
    flash("Waiver granted." if verdict == "grant" else "Waiver refused.", "success")
    return _back(waiver.review_id, waiver_id)


@bp.post("/waivers/<int:waiver_id>/withdraw")
@login_required
def withdraw(waiver_id):
    waiver = load_waiver(waiver_id)
    require(permissions.can_withdraw_waiver(current_user, waiver),
            "Only the owning team withdraws a waiver, while the review is being filled in.")
    commands.withdraw_waiver(waiver, actor=current_user)
    db.session.commit()
    flash("Waiver withdrawn: the item counts by its answer again.", "success")
    return _back(waiver.review_id, waiver_id)
