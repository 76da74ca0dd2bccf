"""Subscriptions to events (docs/notifications.md): yours (or, for admins and ops
leads, everyone's), a new one (a webhook's secret shown once), and each one's
deliveries, with "send again"."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .. import webhooks
from ..commands import notifications as ops
from ..domain import permissions
from ..domain.inputs import InvalidInput
from ..domain.notifications import ALL_EVENT_TYPES
from ..extensions import db
from ..models import Delivery, Subscription
from .admin import CheckboxesField, show_error
from .errors import MAX_ID, found, require
from .paging import parse_page

bp = Blueprint("notifications", __name__, url_prefix="/subscriptions")
SHOWN = 200  # subscriptions listed (newest first)
DELIVERIES_PAGE = 50


def _slugs(text):
    return [part.strip() for part in (text or "").replace(",", " ").split() if part.strip()]


class SubscriptionForm(FlaskForm):
    kind = SelectField("Send to", choices=[SelectChoice("webhook", "a webhook (signed JSON)"),
                                           SelectChoice("slack", "a Slack incoming webhook"),
                                           SelectChoice("email", "an email address")])
    target = StringField("Address (URL, or email)", filters=[lambda v: (v or "").strip()],
                         validators=[DataRequired("Enter where to send."),
                                     Length(max=2000, message="At most 2,000 characters.")])
    event_types = CheckboxesField("Events (none ticked: all)",
                                  choices=[SelectChoice(t, t) for t in ALL_EVENT_TYPES])
    teams = StringField("Teams (slugs, comma separated; empty: all you may)",
                        validators=[Length(max=2000)])
    services = StringField("Services (slugs, comma separated; empty: all)",
                           validators=[Length(max=2000)])
    tiers = CheckboxesField("Tiers (none ticked: all)", coerce=int,
                            choices=[SelectChoice(n, f"tier {n}") for n in (1, 2, 3)])


def _visible():
    query = select(Subscription).order_by(Subscription.id.desc()).limit(SHOWN)
    if not permissions.sees_every_subscription(current_user):
        query = query.where(Subscription.created_by_id == current_user.id)
    return db.session.scalars(query).all()


def _render(form, secret=None, status=200):
    subscriptions = _visible()
    pending = dict(db.session.execute(
        select(Delivery.subscription_id, func.count()).where(
            Delivery.state == "pending", Delivery.subscription_id.in_(
                [s.id for s in subscriptions])).group_by(Delivery.subscription_id)).all())
    return render_template("notifications/index.html", form=form, secret=secret,
                           subscriptions=subscriptions, pending=pending,
                           sees_all=permissions.sees_every_subscription(current_user),
                           own_teams=[t.slug for t in current_user.teams]), status


@bp.get("/")
@login_required
def index():
    return _render(SubscriptionForm())


@bp.post("/")
@login_required
def create():
    form = SubscriptionForm()
    if not form.validate():
        return _render(form, status=422)
    try:
        subscription, secret = ops.subscribe(
            current_user, kind=form.kind.data, target=form.target.data,
            event_types=form.event_types.data or (), teams=_slugs(form.teams.data),
            services=_slugs(form.services.data), tiers=form.tiers.data or (),
            refusal=lambda url: webhooks.refusal(
                url, current_app.config["WEBHOOK_ALLOW_PRIVATE"]))
    except ops.SubscriptionNotAllowed as exc:
        db.session.rollback()
        require(False, str(exc))
    except InvalidInput as exc:
        db.session.rollback()
        show_error(form, exc, {"event": "event_types", "team": "teams", "service": "services",
                               "tier": "tiers"})
        return _render(form, status=422)
    db.session.commit()
    if secret is None:
        flash(f"Subscription {subscription.id} made.", "success")
        return redirect(url_for("notifications.index"))
    # Shown in this response only: the receiver needs it to check signatures.
    response, status = _render(SubscriptionForm(formdata=None), secret=(subscription, secret))
    return response, status, {"Cache-Control": "no-store"}


def _subscription(subscription_id):
    subscription = found(db.session.get(Subscription, subscription_id)
                         if subscription_id <= MAX_ID else None, "subscription")
    require(permissions.can_manage_subscription(current_user, subscription),
            "Only its maker, ops leads and admins see a subscription.")
    return subscription


@bp.get("/<int:subscription_id>")
@login_required
def show(subscription_id):
    subscription = _subscription(subscription_id)
    notices = []
    page = parse_page(request.args.get("page"), notices)
    rows = db.session.scalars(
        select(Delivery).where(Delivery.subscription_id == subscription.id)
        .order_by(Delivery.id.desc()).offset((page - 1) * DELIVERIES_PAGE)
        .limit(DELIVERIES_PAGE + 1)).all()
    return render_template("notifications/show.html", subscription=subscription,
                           deliveries=rows[:DELIVERIES_PAGE], page=page,
                           has_next=len(rows) > DELIVERIES_PAGE, notices=notices)


@bp.post("/<int:subscription_id>/test")
@login_required
def test(subscription_id):
    subscription = _subscription(subscription_id)
    if subscription.disabled_at is not None:
        flash("It is disabled: nothing is sent to it. Subscribe again to receive events.",
              "error")
        return redirect(url_for("notifications.show", subscription_id=subscription.id))
    ops.send_test(subscription, current_app.config["BASE_URL"])
    db.session.commit()
    flash("A test message is queued: the worker sends it within seconds.", "success")
    return redirect(url_for("notifications.show", subscription_id=subscription.id))


@bp.post("/<int:subscription_id>/deliveries/<int:delivery_id>/again")
@login_required
def send_again(subscription_id, delivery_id):
    subscription = _subscription(subscription_id)
    delivery = found(db.session.get(Delivery, delivery_id) if delivery_id <= MAX_ID else None,
                     "delivery")
    require(delivery.subscription_id == subscription.id, "That delivery is another's.")
    if subscription.disabled_at is not None:
        flash("It is disabled: nothing is sent to it. Subscribe again to receive events.",
              "error")
        return redirect(url_for("notifications.show", subscription_id=subscription.id))
    ops.send_again(delivery)
    db.session.commit()
    flash(f"{delivery.event_type} ({delivery.message_id}) will be sent again.", "success")
    return redirect(url_for("notifications.show", subscription_id=subscription.id))
