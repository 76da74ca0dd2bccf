"""Signing in and out, and the session's user.

Sessions name the user as "<id>:<nonce>"; the nonce changes on logout and
password change, so a copied session cookie stops working then. Failed
sign-ins are counted per client address in the database: after
`LOGIN_ATTEMPTS_PER_MINUTE` in a minute, sign-in answers 429 until the minute
has passed.
"""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import locks
from ..commands import accounts
from ..domain.inputs import has_control_characters
from ..domain.sign_in import ATTEMPTS_PER_WINDOW
from ..extensions import db, login_manager
from ..queries.accounts import session_user, sign_in_wait, user_with_password
from . import carry

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


@login_manager.user_loader
def load_user(session_id):
    return session_user(session_id)


@login_manager.unauthorized_handler
def unauthorized():
    """Send a person to sign in; a form they were posting comes along, unsaved but kept."""
    if request.method == "POST" and carry.can_carry(request.endpoint):
        form = LoginForm(formdata=None, next=request.path)
        return render_template("auth/login.html", form=form, carried=carry.fields(request),
                               carried_endpoint=request.endpoint, session_expired=True), 401
    if session.pop("_user_id", None) is not None:  # it named someone whose session ended
        flash("Your session ended: you were signed out elsewhere, your password was "
              "changed or your account was disabled. Sign in again.", "warning")
    else:
        flash(login_manager.login_message, login_manager.login_message_category)
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    else:  # after signing in, go back to the page the form was on, not to a POST-only URL
        target = same_site_referrer() or url_for("home.index")
    return redirect(url_for("auth.login", next=target))


def same_site_referrer():
    """The path of the page the request came from, when it is on this site."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def safe_next(target):
    """`target` if it is a path on this site, else the home page."""
    # Checked before urlsplit, which drops CR, LF and tabs: any control character in the
    # raw value means "go home" (it could split the Location header).
    if target and not has_control_characters(target):
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith(("//", "/\\"))):
            return target
    return url_for("home.index")


def client_address():
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    carried = carry.fields_from_login(request)
    carried_endpoint = request.form.get("carried_endpoint", "")
    if request.method in ("GET", "HEAD"):  # showing the page is never limited
        return render_template("auth/login.html", form=form)
    # Count the failures and note this one as one step per address, on every database
    # (two workers must not both see nine failures and let an eleventh through).
    locks.hold("sign-in", client_address())
    wait = sign_in_wait(client_address(), current_app.config.get(
        "LOGIN_ATTEMPTS_PER_MINUTE", ATTEMPTS_PER_WINDOW))
    if wait:
        message = (f"Too many failed sign-ins from your address. "
                   f"Try again in {wait} seconds.")
        return render_template("auth/login.html", form=form, limited=message, carried=carried,
                               carried_endpoint=carried_endpoint), 429, {"Retry-After": str(wait)}
    if not form.validate():
        return render_template("auth/login.html", form=form, carried=carried,
                               carried_endpoint=carried_endpoint), 422
    user = user_with_password(form.email.data, form.password.data)
    if user is not None and user.is_disabled:
        form.email.errors.append("This account is disabled: an admin can enable it again.")
        return render_template("auth/login.html", form=form, carried=carried,
                               carried_endpoint=carried_endpoint), 403
    if user is None:
        accounts.note_failed_sign_in(client_address())
        db.session.commit()
        form.password.errors.append("That email and password do not match an account.")
        return render_template("auth/login.html", form=form, carried=carried,
                               carried_endpoint=carried_endpoint), 422
    accounts.sign_in(user)
    db.session.commit()
    login_user(user)
    view_args = carry.match(carried_endpoint, form.next.data or "") if carried else None
    if view_args is not None:
        flash("You are signed in again. What you typed is below, not saved yet: "
              "check it and save.", "warning")
        return carry.rerender(carried_endpoint, view_args, carried)
    return redirect(safe_next(form.next.data))


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    accounts.sign_out(user)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
