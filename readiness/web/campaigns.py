"""Campaigns: the list, a new one (ops leads and admins), and each one's page with its
progress, burn-up, table per team and overdue services."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from ..commands.campaigns import create_campaign
from ..domain import campaigns as rules
from ..domain import permissions
from ..domain.inputs import InvalidInput
from ..domain.lifecycle import STATE_LABELS
from ..domain.reviews import REVIEWED_STAGES
from ..extensions import db
from ..models import Campaign, Team, utcnow
from ..queries.campaigns import campaign_list, campaign_view
from ..queries.checklists import current_versions
from .admin import CheckboxesField, show_error
from .errors import MAX_ID, found, require

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


def _slugs(text):
    return [part.strip() for part in (text or "").replace(",", " ").split() if part.strip()]


class CampaignForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=rules.MAX_TITLE)])
    description = TextAreaField("Description (Markdown: why, and what done looks like)",
                                validators=[Length(max=rules.MAX_DESCRIPTION)])
    checklist_id = SelectField("Checklist")
    min_version = StringField("At least version")
    deadline = StringField("Deadline (YYYY-MM-DD)", render_kw={"type": "date"})
    tiers = CheckboxesField("Tiers (none ticked: all)", coerce=int,
                            choices=[SelectChoice(n, f"tier {n}") for n in (1, 2, 3)])
    teams = StringField("Teams (slugs, comma separated; empty: all)",
                        validators=[Length(max=2000)])
    states = CheckboxesField("States (none ticked: all)",
                             choices=[SelectChoice(s, label) for s, label in STATE_LABELS.items()])


def _newest_versions():
    """{checklist id: newest version} of the reviewed (launch, handoff) checklists."""
    return {v.checklist_id: v for v in current_versions(REVIEWED_STAGES)}


def _form(formdata=...):
    form = CampaignForm() if formdata is ... else CampaignForm(formdata=formdata)
    form.checklist_id.choices = [SelectChoice(v.checklist_id, f"{v.title} (newest: version "
                                                               f"{v.version})")
                                 for v in _newest_versions().values()]
    return form


@bp.get("/")
@login_required
def index():
    return render_template("campaigns/index.html", campaigns=campaign_list(),
                           can_start=permissions.can_start_campaign(current_user),
                           today=utcnow().date())


@bp.get("/new")
@login_required
def new():
    require(permissions.can_start_campaign(current_user),
            "Only ops leads and admins start campaigns.")
    return render_template("campaigns/new.html", form=_form())


@bp.post("/")
@login_required
def create():
    require(permissions.can_start_campaign(current_user),
            "Only ops leads and admins start campaigns.")
    form = _form()
    if not form.validate():
        return render_template("campaigns/new.html", form=form), 422
    teams = _slugs(form.teams.data)
    try:
        parsed = rules.parse_campaign(
            title=form.title.data, description=form.description.data,
            checklist_id=form.checklist_id.data, min_version=form.min_version.data,
            deadline=form.deadline.data, tiers=form.tiers.data or (), teams=teams,
            states=form.states.data or (), today=utcnow().date(),
            checklists={k: v.version for k, v in _newest_versions().items()},
            known_teams=set(db.session.scalars(select(Team.slug).where(
                Team.slug.in_(teams[:100])))))
        campaign, scope = create_campaign(parsed, actor=current_user)
    except InvalidInput as exc:
        db.session.rollback()
        show_error(form, exc)
        return render_template("campaigns/new.html", form=form), 422
    db.session.commit()
    flash(f"Campaign started with {scope:,} service{'s' if scope != 1 else ''}.", "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.get("/<int:campaign_id>")
@login_required
def show(campaign_id):
    campaign = found(db.session.get(Campaign, campaign_id) if campaign_id <= MAX_ID
                     else None, "campaign")
    now = utcnow()
    return render_template("campaigns/show.html", view=campaign_view(campaign, now),
                           campaign=campaign, today=now.date(),
                           state_labels=STATE_LABELS)
