"""The overview page: services by who supports them, and the synced checklists."""

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import SERVICE_STATES, ChecklistVersion, Service

bp = Blueprint("home", __name__)

STATE_LABELS = {
    "development": "In development",
    "self_managed": "Self-managed (team on call)",
    "ops_managed": "Ops-managed",
    "retired": "Retired",
}


@bp.get("/")
@login_required
def index():
    services = db.session.scalars(
        select(Service).options(selectinload(Service.team)).order_by(Service.name)
    ).all()
    by_state = {state: [s for s in services if s.state == state] for state in SERVICE_STATES}
    versions = db.session.scalars(
        select(ChecklistVersion).order_by(ChecklistVersion.checklist_id,
                                          ChecklistVersion.version.desc())
    ).all()
    return render_template("home/index.html", by_state=by_state, labels=STATE_LABELS,
                           versions=versions)
