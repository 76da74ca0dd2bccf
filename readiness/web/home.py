"""The dashboard: the home page after sign-in."""

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import login_required

from ..models import utcnow
from ..queries import dashboard
from ..queries import lifecycle as support

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    now = utcnow()
    # Each worklist shows its first DASHBOARD_SHOWN entries and links to a page of all.
    shown = current_app.config["DASHBOARD_SHOWN"]
    return render_template("home/index.html", now=now, shown=shown,
                           **dashboard.build(now, shown))


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools that ask for /favicon.ico get the icon the pages link to."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/handback-candidates")
@login_required
def handback_candidates():
    return render_template(
        "home/list.html", kind="candidates", title="Handback candidates",
        items=support.handback_candidates(utcnow()).items,
        hint="Ops-managed services failing a required handback criterion. Only a person "
             "decides a handback.",
        empty="None: every Ops-managed service meets the handback criteria.")


@bp.get("/expiring-approvals")
@login_required
def expiring_approvals():
    return render_template(
        "home/list.html", kind="expiring", title="Launch approvals expiring within 30 days",
        items=dashboard.expiring_launch_approvals(utcnow()).items,
        hint="Live services whose latest launch approval expires within 30 days or already "
             "has: they need a launch re-review.",
        empty="No launch approval expires in the next 30 days.")
