"""The dashboard: the home page after sign-in."""

from flask import Blueprint, render_template
from flask_login import login_required

from ..models import utcnow
from ..queries import dashboard
from ..queries import lifecycle as support

bp = Blueprint("home", __name__)


# How many entries of each worklist the dashboard shows; each has a page with all of them.
SHOWN = 10


@bp.get("/")
@login_required
def index():
    now = utcnow()
    return render_template("home/index.html", now=now, shown=SHOWN, **dashboard.build(now))


@bp.get("/handback-candidates")
@login_required
def handback_candidates():
    return render_template(
        "home/list.html", kind="candidates", title="Handback candidates",
        items=support.handback_candidates(utcnow()),
        hint="Ops-managed services failing a required handback criterion. Only a person "
             "decides a handback.",
        empty="None: every Ops-managed service meets the handback criteria.")


@bp.get("/expiring-approvals")
@login_required
def expiring_approvals():
    return render_template(
        "home/list.html", kind="expiring", title="Launch approvals expiring within 30 days",
        items=dashboard.expiring_launch_approvals(utcnow()),
        hint="Live services whose latest launch approval expires within 30 days or already "
             "has: they need a launch re-review.",
        empty="No launch approval expires in the next 30 days.")
