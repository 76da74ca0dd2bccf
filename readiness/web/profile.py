"""Your profile: who you are, your password, and your API tokens (made, shown once,
revoked)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from .. import locks
from ..commands import accounts
from ..commands import tokens as token_ops
from ..domain import permissions
from ..domain.inputs import MIN_PASSWORD_LENGTH, InvalidInput
from ..domain.sign_in import ATTEMPTS_PER_WINDOW
from ..extensions import db
from ..models import ApiToken
from ..queries.accounts import sign_in_wait
from .auth import client_address
from .errors import MAX_ID, found, require

bp = Blueprint("profile", __name__, url_prefix="/profile")


def render_profile(new_token=None, error=None, name="", status=200, password_errors=None):
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc())).all()
    return render_template("profile/show.html", tokens=rows, new_token=new_token,
                           pushes_for_every_service=permissions
                           .can_push_facts_for_every_service(current_user),
                           error=error, name=name, password_errors=password_errors or {},
                           min_password_length=MIN_PASSWORD_LENGTH), status


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


# The password form's fields.
CURRENT, NEW, REPEATED = "current_password", "new_password", "repeat_password"


@bp.post("/password")
@login_required
def change_password():
    """A new password for the person signed in: the current one first (a wrong one
    counts as a failed sign-in, so this form is no way around the limit). Their other
    sessions end; this one goes on. API tokens stay (docs/reviews.md)."""
    current = request.form.get(CURRENT, "")
    new = request.form.get(NEW, "")
    repeated = request.form.get(REPEATED, "")
    address = client_address()
    locks.hold("sign-in", address)
    wait = sign_in_wait(address, current_app.config.get("LOGIN_ATTEMPTS_PER_MINUTE",
                                                        ATTEMPTS_PER_WINDOW))
    if wait:
        return render_profile(password_errors={
            CURRENT: f"Too many failed attempts from your address. Try again "
                                f"in {wait} seconds."}, status=429)
    if not check_password_hash(current_user.password_hash, current):
        accounts.note_failed_sign_in(address)
        db.session.commit()
        return render_profile(password_errors={
            CURRENT: "That is not your current password."}, status=422)
    if new != repeated:
        return render_profile(password_errors={
            REPEATED: "The two new passwords differ."}, status=422)
    try:
        accounts.set_password(current_user, new, actor=current_user)
    except InvalidInput as exc:
        db.session.rollback()
        return render_profile(password_errors={NEW: f"{str(exc).capitalize()}."},
                              status=422)
    db.session.commit()
    login_user(current_user)  # this session, under the new nonce; the others have ended
    flash("Your password is changed. Your other sessions have ended; your API tokens "
          "still work.", "success")
    return redirect(url_for("profile.show"))
