"""Services: list with search and filters, create, edit, the service page."""

import csv
import io

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import InputRequired, ValidationError

from ..commands import services as service_ops
from ..domain import charts, checklists, permissions
from ..domain import services as service_rules
from ..domain.inputs import InvalidInput, is_http_link
from ..domain.lifecycle import NEXT_REVIEW_STAGE, STATE_LABELS
from ..domain.reviews import REVIEWED_STAGES
from ..extensions import db
from ..models import SERVICE_STATES, Review, Service, Team, utcnow
from ..queries import services as service_list
from ..queries.checklists import current_versions
from ..queries.readiness import readiness_of
from ..queries.services import ServiceFilter
from ..queries.timeline import DEFAULT_FILTER, FILTERS, fact_trends, service_timeline
from . import carry
from .errors import found, require
from .lifecycle import support_panel
from .paging import parse_page

bp = Blueprint("services", __name__, url_prefix="/services")

PER_PAGE = 25
TEAM_MENU_LIMIT = 100  # teams a filter menu lists; beyond, the filter takes a slug
# The timeline's filters as the service page offers them.
TIMELINE_FILTERS = [("changes", "What people did"), ("events", "Who supports it"),
                    ("reviews", "Reviews"), ("decisions", "Decisions"),
                    ("facts", "Fact changes"), ("all", "Everything")]
MAX_QUERY = 100
TIER_LABELS = {1: "1 (most critical)", 2: "2", 3: "3 (least critical)"}
LINK_TITLES = {"repo_url": "Repository", "runbook_url": "Runbook", "dashboard_url": "Dashboard"}


def operation_check(check):
    """A WTForms validator from a command's check, so the form and the use case agree."""

    def validate(form, field):
        try:
            check(field.data)
        except InvalidInput as exc:
            raise ValidationError(_sentence(str(exc))) from exc

    return validate


def _tier_or_none(value):
    """The tier as a number, or None for anything else (the tier check then says why)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _sentence(message):
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


class EditServiceForm(FlaskForm):
    name = StringField("Name", validators=[operation_check(service_rules.check_name)])
    tier = SelectField("Tier", coerce=_tier_or_none, default=2, validate_choice=False,
                       choices=[SelectChoice(n, label) for n, label in TIER_LABELS.items()],
                       validators=[operation_check(service_rules.check_tier)])
    description = TextAreaField("Description", render_kw={"rows": 8},
                                validators=[operation_check(service_rules.check_description)])
    repo_url = URLField("Repository", validators=[
        operation_check(lambda url: service_rules.check_link("repo_url", url))])
    runbook_url = URLField("Runbook", validators=[
        operation_check(lambda url: service_rules.check_link("runbook_url", url))])
    dashboard_url = URLField("Dashboard", validators=[
        operation_check(lambda url: service_rules.check_link("dashboard_url", url))])

    def editable_values(self):
        return {field: getattr(self, field).data for field in service_rules.EDITABLE_FIELDS}


class NewServiceForm(EditServiceForm):
    slug = StringField("Slug", validators=[operation_check(service_rules.check_slug)])
    team = SelectField("Owning team", validators=[InputRequired("Choose the owning team.")],
                       validate_choice=False)

    def validate_team(self, field):
        if field.data not in {choice.value for choice in field.choices if choice.value}:
            raise ValidationError("Choose one of your teams.")


def creatable_teams(user):
    """The teams `user` may add services to: their own, or all for admins."""
    if permissions.is_admin(user):
        return db.session.scalars(select(Team).order_by(Team.name)).all()
    return list(user.teams)


def load_service_or_404(slug, *options):
    service = found(db.session.scalar(select(Service).where(Service.slug == slug)
                                      .options(*options)), "service")
    return service


@bp.get("/")
@login_required
def index():
    # Rows, not Team objects: the menu needs no more. An organisation with more teams
    # than a menu holds types the team's slug instead.
    teams = db.session.execute(select(Team.slug, Team.name).order_by(Team.name)
                               .limit(TEAM_MENU_LIMIT + 1)).all()
    team_menu = teams if len(teams) <= TEAM_MENU_LIMIT else None
    filters, notices = parse_filters(request.args)
    query = _listed(filters)

    page_number = parse_page(request.args.get("page"), notices)
    if "readiness" in filters or filters.get("sort") == "readiness":
        page, shown_readiness = _by_readiness(query, filters, page_number, notices)
        return render_template(
            "services/index.html", page=page, filters=filters, notices=notices,
            teams=team_menu, readiness=shown_readiness,
            states=[(state, STATE_LABELS.get(state, state)) for state in SERVICE_STATES],
            tiers=TIER_LABELS, can_create=permissions.can_create_service(current_user),
            is_filtered=bool(filters), readiness_kinds=READINESS_KINDS)
    page = service_list.page_of(query, page_number, PER_PAGE)
    if not page.items and page_number > 1:
        # Past the end: counted whole, once, to find the last page.
        last = service_list.page_of(query, 1, PER_PAGE, exact=True).pages
        notices.append(f"There is no page {page_number}; showing the last page, {last}.")
        page = service_list.page_of(query, last, PER_PAGE)
    shown_readiness = readiness_of([s.id for s in page.items], utcnow())
    return render_template(
        "services/index.html", page=page, filters=filters, notices=notices, teams=team_menu,
        readiness=shown_readiness,
        states=[(state, STATE_LABELS.get(state, state)) for state in SERVICE_STATES],
        tiers=TIER_LABELS, can_create=permissions.can_create_service(current_user),
        is_filtered=bool(filters), readiness_kinds=READINESS_KINDS,
    )


# The readiness figure's kinds, as the filter offers them, least ready first.
READINESS_KINDS = {"none": "No review yet", "expired": "Approval no longer counts",
                   "review": "In review", "approved": "Approved"}
# A team's services sorted or filtered by readiness are read whole, up to this many.
READINESS_LIMIT = 2_000


def readiness_key(figure, name):
    """Least ready first: no review, approval no longer counting, in review (by the share
    of required items done), approved (soonest to run out first)."""
    order = list(READINESS_KINDS).index(figure.kind)
    share = figure.share if figure.kind == "review" else 0.0
    until = figure.until.timestamp() if figure.until is not None else float("inf")
    return (order, share, until if figure.kind == "approved" else 0.0, name.lower())


def _by_readiness(query, filters, page_number, notices):
    """A team's services (its size is what the list shows) filtered and sorted by their
    readiness figure, read whole: the figure moves with time (approvals and waivers run
    out, checks go stale), so it is computed here, never kept for the organisation."""
    # In the team's index order (ix_service_team_name): one team's range, not the
    # organisation's names.
    rows = db.session.scalars(query.order_by(None).order_by(
        Service.team_id, Service.name, Service.id).limit(READINESS_LIMIT + 1)).all()
    if len(rows) > READINESS_LIMIT:
        notices.append(f"Only the first {READINESS_LIMIT:,} services by name are sorted "
                       f"and filtered by readiness: narrow the list further.")
        rows = rows[:READINESS_LIMIT]
    figures = readiness_of([s.id for s in rows], utcnow())
    kind = filters.get("readiness")
    kept = [s for s in rows if kind is None or figures[s.id].kind == kind]
    if filters.get("sort") == "readiness":
        kept.sort(key=lambda s: readiness_key(figures[s.id], s.name))
    pages = max(1, -(-len(kept) // PER_PAGE))
    if page_number > pages:
        notices.append(f"There is no page {page_number}; showing the last page, {pages}.")
        page_number = pages
    start = (page_number - 1) * PER_PAGE
    shown = kept[start:start + PER_PAGE]
    page = service_list.Page(shown, page_number, PER_PAGE, len(kept), False,
                             start + PER_PAGE < len(kept))
    return page, {s.id: figures[s.id] for s in shown}


def _listed(filters):
    """The services `filters` (from parse_filters) keep, in name order, teams loaded."""
    narrowed = ServiceFilter(text=filters.get("q"), team=filters.get("team"),
                             state=filters.get("state"),
                             tier=int(filters["tier"]) if "tier" in filters else None,
                             unreviewed="unreviewed" in filters)
    return (service_list.matching(narrowed).options(selectinload(Service.team))
            .order_by(Service.name, Service.id))


CSV_COLUMNS = ("slug", "name", "team", "tier", "state", "catalog_lifecycle", "repo_url",
               "runbook_url", "dashboard_url")


@bp.get("/export.csv")
@login_required
def export_csv():
    """The list with its filters as CSV, every match (an export: its size is what it
    holds), streamed in chunks of rows."""
    filters, _ = parse_filters(request.args)
    query = _listed(filters).execution_options(yield_per=500)

    def rows():
        yield csv_line(CSV_COLUMNS)
        for service in db.session.scalars(query):
            yield csv_line([service.slug, service.name, service.team.slug, service.tier,
                            service.state, service.catalog_lifecycle, service.repo_url,
                            service.runbook_url, service.dashboard_url])

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="services.csv"'})


def csv_line(values):
    """One CSV line; a text a spreadsheet would run as a formula (=, +, -, @, tab, CR
    first) is written with a ' before it (OWASP's advice against CSV injection)."""
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else
                              f"'{v}" if isinstance(v, str) and v[:1] in FORMULA_STARTS else v
                              for v in values])
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def picker_versions(service, wanted=None):
    """The checklists a review may be started against (those that apply to the service),
    the stage the service needs next first (launch for a service in development, handoff
    once it is self-managed), or the `wanted` stage (a "start a re-review" link asks for
    launch)."""
    first = wanted if wanted in REVIEWED_STAGES else NEXT_REVIEW_STAGE.get(service.state)
    return sorted((v for v in current_versions(REVIEWED_STAGES)
                   if checklists.applies(v.content, service.tier)),
                  key=lambda v: (v.stage != first, v.stage, v.title))


def parse_filters(args):
    """The valid filters from the query string, and a notice for each one ignored."""
    filters, notices = {}, []
    q = args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        notices.append(f"The search was cut to its first {MAX_QUERY} characters.")
        q = q[:MAX_QUERY]
    if q:
        filters["q"] = q
    team = args.get("team", "").strip()
    if team:
        if db.session.scalar(select(Team.id).where(Team.slug == team)) is not None:
            filters["team"] = team
        else:
            notices.append(f"There is no team “{team}”, so services of every team are shown.")
    state = args.get("state", "").strip()
    if state:
        if state in SERVICE_STATES:
            filters["state"] = state
        else:
            notices.append(f"“{state}” is not a state, so services in every state are shown.")
    tier = args.get("tier", "").strip()
    if tier:
        if tier in {str(t) for t in TIER_LABELS}:
            filters["tier"] = tier
        else:
            notices.append(f"“{tier}” is not a tier (1, 2 or 3), so every tier is shown.")
    readiness = args.get("readiness", "").strip()
    sort = args.get("sort", "").strip()
    if readiness and readiness not in READINESS_KINDS:
        notices.append(f"“{readiness}” is not a readiness to filter by, so it is not "
                       f"applied.")
    elif readiness:
        filters["readiness"] = readiness
    if sort and sort not in ("name", "readiness"):
        notices.append(f"“{sort}” is not a way to sort (name or readiness): by name.")
    elif sort == "readiness":
        filters["sort"] = sort
    if ("readiness" in filters or "sort" in filters) and "team" not in filters:
        notices.append("Sorting and filtering by readiness works within one team (the "
                       "figure is worked out for each service shown): choose a team.")
        filters.pop("readiness", None)
        filters.pop("sort", None)
    unreviewed = args.get("unreviewed", "").strip()
    if unreviewed == "1":
        filters["unreviewed"] = "1"
    elif unreviewed:
        notices.append(f"“{unreviewed}” is not a choice for the unreviewed filter (1), so "
                       "it is not applied.")
    return filters, notices


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require(permissions.can_create_service(current_user),
            "Only members of a team (and admins) can add services.")
    form = new_service_form()
    team = None
    if request.method == "POST" and form.team.data:
        team = db.session.scalar(select(Team).where(Team.slug == form.team.data))
        if team is not None:
            require(permissions.can_create_service(current_user, team),
                    f"Only members of {team.name} (and admins) can add its services.")
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("services/form.html", form=form, service=None), status
    try:
        service = service_ops.create_service(
            slug=form.slug.data, team=team, actor=current_user, **form.editable_values())
    except InvalidInput as exc:
        db.session.rollback()
        getattr(form, exc.field).errors.append(_sentence(str(exc)))
        return render_template("services/form.html", form=form, service=None), 422
    db.session.commit()
    flash(f"{service.name} is added, in development. Start its launch review when it is "
          "ready.", "success")
    return redirect(url_for("services.show", slug=service.slug))


def new_service_form(formdata=None):
    kwargs = {} if formdata is None else {"formdata": formdata}
    form = NewServiceForm(**kwargs)
    teams = creatable_teams(current_user)
    choices = [SelectChoice(t.slug, t.name) for t in teams]
    if len(teams) != 1:
        choices.insert(0, SelectChoice("", "Choose a team…"))
    form.team.choices = choices
    return form


def _rerender_create(view_args, formdata):
    require(permissions.can_create_service(current_user))
    return render_template("services/form.html", form=new_service_form(formdata),
                           service=None)


carry.register("services.create", _rerender_create)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug):
    service = load_service_or_404(slug, selectinload(Service.team))
    require(permissions.can_edit_service(current_user, service),
            f"Only members of {service.team.name} (and admins) can edit {service.name}.")
    form = EditServiceForm(obj=service)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("services/form.html", form=form, service=service), status
    try:
        changes = service_ops.update_service(service, actor=current_user,
                                             **form.editable_values())
    except InvalidInput as exc:
        db.session.rollback()
        service = load_service_or_404(slug, selectinload(Service.team))
        getattr(form, exc.field).errors.append(_sentence(str(exc)))
        return render_template("services/form.html", form=form, service=service), 422
    db.session.commit()
    if changes:
        flash(f"{service.name} is saved.", "success")
    else:
        flash("Nothing had changed.", "info")
    return redirect(url_for("services.show", slug=service.slug))


def _rerender_edit(view_args, formdata):
    service = load_service_or_404(view_args["slug"], selectinload(Service.team))
    require(permissions.can_edit_service(current_user, service))
    return render_template("services/form.html", form=EditServiceForm(formdata=formdata),
                           service=service)


carry.register("services.edit", _rerender_edit)


@bp.get("/<slug>")
@login_required
def show(slug):
    service = load_service_or_404(
        slug, selectinload(Service.team),
        selectinload(Service.reviews).selectinload(Review.checklist_version))
    can_start = permissions.can_start_review(current_user, service)
    shown = request.args.get("timeline", DEFAULT_FILTER)
    shown = shown if shown in FILTERS else DEFAULT_FILTER
    links = [(title, url, is_http_link(url))
             for field, title in LINK_TITLES.items() if (url := getattr(service, field))]
    return render_template("services/show.html", service=service,
                           reviews=sorted(service.reviews, key=lambda r: r.created_at,
                                          reverse=True),
                           links=links, tier_label=TIER_LABELS.get(service.tier, service.tier),
                           can_edit=permissions.can_edit_service(current_user, service),
                           can_start_review=can_start,
                           checklist_versions=(picker_versions(service, request.args.get("review"))
                                               if can_start else []),
                           support=support_panel(service, current_user),
                           timeline=service_timeline(service, shown=shown),
                           timeline_filter=shown, timeline_filters=TIMELINE_FILTERS,
                           trends=[charts.trend(name, readings) for name, readings
                                   in fact_trends(service.id).items()])
