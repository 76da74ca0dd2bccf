"""Your profile: who you are, and your API tokens (made, shown once, revoked)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..commands import tokens as token_ops
from ..domain import permissions
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import ApiToken
from .errors import MAX_ID, found, require

bp = Blueprint("profile", __name__, url_prefix="/profile")


def render_profile(new_token=None, error=None, name="", status=200):
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc())).all()
    return render_template("profile/show.html", tokens=rows, new_token=new_token,
                           pushes_for_every_service=permissions
                           .can_push_facts_for_every_service(current_user),
                           error=error, name=name), status


@bp.get("/")
@login_required
def show():
    return render_profile()


@bp.post("/tokens")
@login_required
def create_token():
    name = request.form.get("name", "")
    try:
        _, token = token_ops.create_token(current_user, name=name, actor=current_user)
    except InvalidInput as exc:
        db.session.rollback()
        return render_profile(error=str(exc), name=name, status=422)
    db.session.commit()
    # Shown in this response only: it is stored as a digest and cannot be shown again.
    response, status = render_profile(new_token=token)
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    token = found(db.session.get(ApiToken, token_id) if token_id <= MAX_ID else None, "token")
    require(permissions.can_revoke_token(current_user, token),
            "Only the token's owner or an admin can revoke it.")
    token_ops.revoke_token(token, actor=current_user)
    db.session.commit()
    flash(f"Token {token.prefix}… is revoked: it no longer works.", "success")
    if token.user_id == current_user.id:
        return redirect(url_for("profile.show"))
    return redirect(url_for("admin.edit_user", user_id=token.user_id))
