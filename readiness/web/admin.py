"""Admin pages: users, teams, checklist status."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..permissions import can_manage_accounts
from .errors import require

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@login_required
def users():
    require(can_manage_accounts(current_user))
    return render_template("errors/error.html", code=200, title="Users", message="Soon.")
