"""A team's page: its services by state, open reviews, waivers, open return conditions,
campaign services and its history by month."""

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import select

from ..domain.lifecycle import EVENT_LABELS, STATE_LABELS
from ..extensions import db
from ..models import Team, utcnow
from ..queries.campaigns import team_campaign_services
from ..queries.teams import SHOWN, team_view
from .errors import found

bp = Blueprint("teams", __name__, url_prefix="/teams")


@bp.get("/<slug>")
@login_required
def show(slug):
    team = found(db.session.scalar(select(Team).where(Team.slug == slug)), "team")
    now = utcnow()
    return render_template("teams/show.html", view=team_view(team, now), team=team,
                           campaigns=team_campaign_services([team.id], now, SHOWN),
                           state_labels=STATE_LABELS, event_labels=EVENT_LABELS,
                           today=now.date())
