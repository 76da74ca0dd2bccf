"""The dashboard: the home page after sign-in."""

from flask import Blueprint, render_template
from flask_login import login_required

from .. import dashboard
from ..models import utcnow

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    now = utcnow()
    return render_template("home/index.html", now=now, **dashboard.build(now))
