"""Admin pages: users, teams, checklist status. Every view is for admins only."""

from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import defer, selectinload
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .. import commands
from ..commands import accounts
from ..domain import checklists
from ..domain.inputs import MIN_PASSWORD_LENGTH
from ..domain.permissions import can_manage_accounts
from ..extensions import db
from ..models import CatalogImport, ChecklistVersion, Service, Team, User, team_membership
from ..queries.checklists import current_versions, synced_versions
from .errors import found, require

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {"consultant": "Consultant", "ops_lead": "Ops lead", "admin": "Admin"}
ROLE_HINTS = {
    "consultant": "decides reviews",
    "ops_lead": "hands services over to Ops and back",
    "admin": "manages users, teams and checklists",
}
PASSWORD_RULE = Length(min=MIN_PASSWORD_LENGTH, max=accounts.MAX_PASSWORD_LENGTH,
                       message=f"The password must have at least {MIN_PASSWORD_LENGTH} "
                               "characters.")
ONLY_ADMINS = "Only admins can manage users, teams and checklists."


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; admin/_form.html renders them in a fieldset."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _name_field():
    return StringField("Name", filters=[_strip], validators=[
        DataRequired("Enter a name."), Length(max=120, message="At most 120 characters.")])


def _roles_field():
    return CheckboxesField("Roles", choices=[SelectChoice(role, label)
                                             for role, label in ROLE_LABELS.items()])


class NewUserForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[
        DataRequired("Enter the person's email address: they sign in with it."),
        Length(max=254, message="At most 254 characters.")])
    name = _name_field()
    password = PasswordField("Password", validators=[DataRequired("Choose a password."),
                                                     PASSWORD_RULE],
                             render_kw={"autocomplete": "new-password"})
    roles = _roles_field()
    teams = CheckboxesField("Teams")


class EditUserForm(FlaskForm):
    name = _name_field()
    roles = _roles_field()
    teams = CheckboxesField("Teams")
    is_disabled = BooleanField("Disabled: may not sign in")
    new_password = PasswordField("New password", validators=[Optional(), PASSWORD_RULE],
                                 render_kw={"autocomplete": "new-password"})


class NewTeamForm(FlaskForm):
    slug = StringField("Short id (slug)", filters=[_strip], validators=[
        DataRequired("Enter a short id such as payments."),
        Length(max=64, message="At most 64 characters.")])
    name = _name_field()


class EditTeamForm(FlaskForm):
    name = _name_field()
    members = CheckboxesField("Members", coerce=int)


def show_error(form, error, field_names=None):
    """Put an operation's InvalidInput next to the field it is about, else above the form."""
    name = getattr(error, "field", None)
    name = (field_names or {}).get(name, name)
    message = str(error)
    message = message[:1].upper() + message[1:] + ("" if message.endswith((".", ":")) else ".")
    field = form._fields.get(name) if name else None
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = [*field.errors, message]


def status_for(form):
    """422 when a posted form is shown again with its errors, else 200."""
    return 422 if form.is_submitted() else 200


def team_choices():
    return [SelectChoice(team.slug, team.name)
            for team in db.session.scalars(select(Team).order_by(Team.name, Team.slug))]


def user_choices():
    return [SelectChoice(user.id, f"{user.name} · {user.email}"
                                  f"{' (disabled)' if user.is_disabled else ''}")
            for user in db.session.scalars(select(User).order_by(User.name, User.id))]


def load_user(user_id):
    user = db.session.scalar(
        select(User).where(User.id == user_id).options(selectinload(User.teams)))
    found(user, "user")
    return user


def load_team(team_id):
    team = db.session.scalar(
        select(Team).where(Team.id == team_id).options(selectinload(Team.members)))
    found(team, "team")
    return team


# Permission comes before loading: it does not depend on the object, and a
# non-admin should not learn from 404 versus 403 which ids exist.

@bp.get("/users")
@login_required
def users():
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    rows = db.session.scalars(
        select(User).options(selectinload(User.teams)).order_by(User.name, User.id)).all()
    return render_template("admin/users.html", users=rows, role_labels=ROLE_LABELS,
                           section="users")


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    form = NewUserForm()
    form.teams.choices = team_choices()
    if form.validate_on_submit():
        try:
            user = commands.create_user(
                email=form.email.data, name=form.name.data, password=form.password.data,
                roles=form.roles.data, team_slugs=form.teams.data, actor=current_user)
        except commands.InvalidInput as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"{user.name} ({user.email}) can now sign in.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None,
                           min_password_length=MIN_PASSWORD_LENGTH,
                           role_hints=ROLE_HINTS, section="users"), status_for(form)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit_user(user_id):
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    user = load_user(user_id)
    form = EditUserForm(data={"name": user.name, "roles": user.roles,
                              "teams": [team.slug for team in user.teams],
                              "is_disabled": user.is_disabled})
    form.teams.choices = team_choices()
    is_self = user.id == current_user.id
    if form.validate_on_submit():
        new_password = form.new_password.data
        try:
            changes = accounts.update_user(
                user, actor=current_user, name=form.name.data, roles=form.roles.data,
                team_slugs=form.teams.data, is_disabled=form.is_disabled.data)
            if new_password:
                accounts.set_password(user, new_password, actor=current_user)
        except commands.InvalidInput as exc:
            db.session.rollback()
            # Maps the error to the form field named new_password; no secret here.
            show_error(form, exc, {"password": "new_password"})  # nosec B105
        else:
            db.session.commit()
            if is_self and new_password:
                login_user(user)  # this session carries on; the others have ended
            flash(edit_user_message(user, changes, bool(new_password), is_self), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, is_self=is_self,
                           min_password_length=MIN_PASSWORD_LENGTH,
                           role_hints=ROLE_HINTS, section="users"), status_for(form)


def edit_user_message(user, changes, password_changed, is_self):
    if changes.get("is_disabled"):
        return f"{user.name} is disabled and signed out everywhere."
    if password_changed:
        where = "your other sessions have" if is_self else "their sessions have"
        return f"{user.name}'s password is changed; {where} ended."
    if changes:
        return f"Saved the changes to {user.name}."
    return f"Nothing had changed for {user.name}."


@bp.get("/teams")
@login_required
def teams():
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    members = (select(team_membership.c.team_id, func.count().label("n"))
               .group_by(team_membership.c.team_id).subquery())
    services = (select(Service.team_id, func.count().label("n"))
                .group_by(Service.team_id).subquery())
    rows = db.session.execute(
        select(Team, func.coalesce(members.c.n, 0), func.coalesce(services.c.n, 0))
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(services, services.c.team_id == Team.id)
        .order_by(Team.name, Team.slug)
    ).all()
    return render_template("admin/teams.html", rows=rows, section="teams")


@bp.route("/teams/new", methods=["GET", "POST"])
@login_required
def new_team():
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    form = NewTeamForm()
    if form.validate_on_submit():
        try:
            team = commands.create_team(slug=form.slug.data, name=form.name.data,
                                          actor=current_user)
        except commands.InvalidInput as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"Team {team.name} is created. Choose its members.", "success")
            return redirect(url_for("admin.edit_team", team_id=team.id))
    return render_template("admin/team_form.html", form=form, team=None,
                           section="teams"), status_for(form)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@login_required
def edit_team(team_id):
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    team = load_team(team_id)
    form = EditTeamForm(data={"name": team.name,
                              "members": [user.id for user in team.members]})
    form.members.choices = user_choices()
    if form.validate_on_submit():
        try:
            changes = accounts.update_team(team, actor=current_user, name=form.name.data,
                                           member_ids=form.members.data)
        except commands.InvalidInput as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"Saved the changes to {team.name}." if changes else
                  f"Nothing had changed for {team.name}.", "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/team_form.html", form=form, team=team,
                           section="teams"), status_for(form)


@dataclass(frozen=True)
class FileStatus:
    """One checklist file as the checklists page shows it."""

    name: str
    checklist_id: str | None
    version: int | None
    status: str
    is_ok: bool


@bp.get("/checklists", endpoint="checklists")
@login_required
def checklist_status():
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    versions = db.session.scalars(
        select(ChecklistVersion).options(defer(ChecklistVersion.content))
        .order_by(ChecklistVersion.checklist_id, ChecklistVersion.version.desc())
    ).all()
    current_ids = {version.id for version in current_versions()}

    directory = current_app.config["CHECKLISTS_DIR"]
    files, errors, folder_error = check_files(directory)
    return render_template("admin/checklists.html", versions=versions, current_ids=current_ids,
                           directory=directory, files=files, errors=errors,
                           folder_error=folder_error, section="checklists")


def check_files(directory):
    """The files of `directory` freshly validated: their statuses, `file:line: message`
    errors, and a message when the folder itself is missing."""
    synced = synced_versions()
    try:
        loaded = checklists.load_all(checklists.discover([directory]), synced)
    except FileNotFoundError as exc:
        return [], [], str(exc)
    base = Path(directory).parent

    def shown(path):
        path = Path(path)
        return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)

    files, errors = [], []
    for file in loaded:
        checklist = file.checklist
        known = synced.get(checklist.id) if checklist else None
        if file.errors:
            status = f"{len(file.errors)} error(s)"
        elif known is None or known.version < checklist.version:
            status = "valid, not synced yet"
        else:
            status = "synced"
        files.append(FileStatus(shown(file.path), checklist.id if checklist else None,
                                checklist.version if checklist else None, status,
                                not file.errors))
        errors.extend(f"{shown(error.file)}:{error.line}: {error.message}"
                      for error in file.errors)
    return files, errors, None


@bp.get("/catalog", endpoint="catalog")
@login_required
def catalog_imports():
    """The last catalog import in full (when, by whom, from where, counts, errors) and
    the runs before it."""
    require(can_manage_accounts(current_user), ONLY_ADMINS)
    runs = db.session.scalars(select(CatalogImport).order_by(
        CatalogImport.started_at.desc(), CatalogImport.id.desc()).limit(RECENT_IMPORTS)).all()
    return render_template("admin/catalog.html", runs=runs, section="catalog")


RECENT_IMPORTS = 10
