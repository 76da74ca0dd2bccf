"""The dashboard: the home page after sign-in."""

from datetime import date

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from ..models import utcnow
from ..queries import dashboard
from ..queries import lifecycle as support
from ..queries.waivers import expiring_waivers
from .paging import parse_page

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    now = utcnow()
    # Each worklist shows its first DASHBOARD_SHOWN entries and links to a page of all.
    shown = current_app.config["DASHBOARD_SHOWN"]
    built = dashboard.build(now, shown)
    # ?as_of=YYYY-MM-DD: the states on that day, rebuilt from the management events.
    as_of, notice = None, None
    raw = request.args.get("as_of", "").strip()
    if raw:
        try:
            as_of = date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            as_of = None
        if as_of is None:
            notice = f"“{raw[:40]}” is not a date (YYYY-MM-DD): the states shown are today's."
        elif as_of > now.date():
            notice, as_of = "That day is still to come: the states shown are today's.", None
        else:
            built["states"] = dashboard.services_by_state_on(as_of)
    return render_template("home/index.html", now=now, shown=shown, today=now.date(),
                           as_of=as_of, as_of_notice=notice, **built)


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools that ask for /favicon.ico get the icon the pages link to."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


LIST_PAGE = 100  # entries on a page of a whole worklist


def _worklist_page(kind, title, find, hint, empty):
    notices = []
    page = parse_page(request.args.get("page"), notices)
    found = find(utcnow(), LIST_PAGE, (page - 1) * LIST_PAGE)
    return render_template(
        "home/list.html", kind=kind, title=title, items=found, page=page, notices=notices,
        today=utcnow().date(),
        has_next=found.capped or page * LIST_PAGE < found.total, hint=hint, empty=empty)


@bp.get("/handback-candidates")
@login_required
def handback_candidates():
    return _worklist_page(
        "candidates", "Handback candidates",
        lambda now, limit, offset: support.with_loads(
            support.handback_candidates(now, limit, offset)),
        hint="Ops-managed services failing a required handback criterion. Only a person "
             "decides a handback.",
        empty="None: every Ops-managed service meets the handback criteria.")


@bp.get("/expiring-approvals")
@login_required
def expiring_approvals():
    return _worklist_page(
        "expiring", "Launch approvals expiring within 30 days",
        dashboard.expiring_launch_approvals,
        hint="Live services whose latest launch approval expires within 30 days or already "
             "has: they need a launch re-review.",
        empty="No launch approval expires in the next 30 days.")


@bp.get("/expiring-waivers")
@login_required
def expiring_waivers_page():
    return _worklist_page(
        "waivers", "Waivers expiring within 30 days", expiring_waivers,
        hint="Granted waivers of current approvals that run out within 30 days. When one "
             "expires the deploy gate refuses its service until a new review is approved.",
        empty="No waiver expires in the next 30 days.")


@bp.get("/needs-rereview")
@login_required
def needs_rereview():
    return _worklist_page(
        "rereview", "Live services needing a launch re-review", support.needing_rereview,
        hint="Their launch approval, or a waiver it leans on, expires within 30 days; their "
             "tier became more critical; or a newer launch checklist asks for it.",
        empty="None: every live service's launch approval holds for more than 30 days.")
