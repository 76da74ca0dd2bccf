"""Services: list with search and filters, create, edit, the service page."""

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import permissions
from ..extensions import db
from ..models import Review, Service
from ..operations.reviews import current_versions

bp = Blueprint("services", __name__, url_prefix="/services")


@bp.get("/")
@login_required
def index():
    return render_template("errors/error.html", code=200, title="Services", message="Soon.")


@bp.get("/<slug>")
@login_required
def show(slug):
    service = db.session.scalar(
        select(Service).where(Service.slug == slug).options(
            selectinload(Service.team),
            selectinload(Service.reviews).selectinload(Review.checklist_version)))
    if service is None:
        abort(404, "There is no such service.")
    can_start = permissions.can_start_review(current_user, service)
    return render_template("services/show.html", service=service,
                           reviews=sorted(service.reviews, key=lambda r: r.created_at,
                                          reverse=True),
                           can_start_review=can_start,
                           checklist_versions=current_versions() if can_start else [])
