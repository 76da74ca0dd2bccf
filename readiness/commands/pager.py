"""Use cases of who carries the pager, measured: record a pager trial, set Ops'
capacity, grant a break-glass override of the gate. Rules: domain.pager; each change
writes its audit entry."""

from datetime import timedelta

from ..audit import AuditAction, record
from ..domain.inputs import InvalidInput
from ..extensions import db
from ..models import GateOverride, OpsCapacity, PagerTrial, utcnow
from .worklists import refresh_worklists

MAX_OVERRIDE = timedelta(hours=24)
MAX_REASON = 2_000


def record_trial(service, trial, *, actor):
    """Record a pager trial (a domain.pager.TrialInput) of a self-managed service."""
    if service.state != "self_managed":
        raise InvalidInput("Pager trials are for self-managed services: Ops shadows the "
                           "team's pager before taking it.")
    row = PagerTrial(service=service, started_on=trial.started_on, ended_on=trial.ended_on,
                     shadow=trial.shadow, pages_total=trial.pages_total,
                     pages_actionable=trial.pages_actionable, outcome=trial.outcome,
                     notes=trial.notes, recorded_by=actor)
    db.session.add(row)
    db.session.flush()
    record(AuditAction.TRIAL_RECORD, actor=actor, subject=service, trial=row.id,
           started_on=trial.started_on.isoformat(), ended_on=trial.ended_on.isoformat(),
           shadow=trial.shadow, pages_total=trial.pages_total,
           pages_actionable=trial.pages_actionable, outcome=trial.outcome, notes=trial.notes)
    refresh_worklists([service.id])  # a passed trial may open its handoff window
    return row


def set_capacity(hours, *, actor):
    """Set Ops' capacity in engineer-hours a week (kept with its history)."""
    row = OpsCapacity(hours=hours, set_by=actor)
    db.session.add(row)
    db.session.flush()
    record(AuditAction.CAPACITY_SET, actor=actor, subject=row, hours=hours)
    return row


def grant_override(service, *, actor, reason, expires_at, now=None):
    """Break-glass: let the service's gate answer yes until `expires_at` (at most 24 h
    ahead), with a reason.

    :raise InvalidInput: naming the field.
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the gate must let this service through.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep it under {MAX_REASON:,} characters.", field="reason")
    if service.state not in ("self_managed", "ops_managed"):
        raise InvalidInput("Only a live service's gate can be overridden.",
                           field="expires_at")
    if not now < expires_at <= now + MAX_OVERRIDE:
        raise InvalidInput("An override ends within the next 24 hours.", field="expires_at")
    row = GateOverride(service=service, reason=reason, expires_at=expires_at,
                       granted_by=actor, created_at=now)
    db.session.add(row)
    db.session.flush()
    record(AuditAction.GATE_OVERRIDE, actor=actor, subject=service, override=row.id,
           reason=reason, expires_at=expires_at)
    return row
