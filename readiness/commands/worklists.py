"""The moments kept on each service for the worklists, so that each list
is an index range whose cost follows its entries, never the number of services
(bench/README.md, "Cost that does not grow with the organisation"):

- `service.handback_failing_from`: for an ops-managed service, the first moment its
  latest facts fail a required check of a current handback checklist
  (domain.checklists.failing_from); it is a handback candidate while that is <= now.
- `service.ready_from` and `service.ready_until`: for a service in development or
  self-managed, from and until when an ops lead may launch it or accept its handoff on
  its approval (domain.lifecycle.allowed_window: a handoff also waits for self-managed
  time and a passed pager trial); it waits on My work while from <= now < until.
- `service.rereview_from`: for a live service with a launch approval, from when it
  needs a launch re-review (domain.lifecycle.rereview_from): its approval or a waiver
  it leans on expiring within 30 days, a more critical tier, a newer checklist
  version that sets requires_rereview.

The domain decides them; this module only gathers what they read and stores the
answer. Every write that changes what they read refreshes them in the same transaction:
an approval, a lifecycle move, a tier change, a checklist sync that adds a handback
version or a launch version asking for re-reviews, refreshing
the latest facts, the benchmark's generator (`refresh_worklists`), and a fact ingest
(`refresh_handback_moment`: facts move only that moment). Tests hold both columns to
the domain's answer at random moments after random sequences of those writes
(tests/integration/test_worklists.py).
"""

from typing import NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import aliased

from ..domain import checklists, lifecycle
from ..extensions import db
from ..models import ChecklistVersion, LatestFact, ManagementEvent, Review, Service
from ..queries.checklists import current_required_checks, rereview_versions
from ..queries.facts import latest_facts, latest_values
from ..queries.lifecycle import latest_approval_id, min_self_managed_days
from ..queries.pager import trial_rules_of
from ..queries.waivers import waiver_terms

CHUNK = 1000


def _approval_columns():
    review, version = aliased(Review), aliased(ChecklistVersion)
    columns = (review.id, review.created_at, review.approved_at, version.valid_for_days)
    return review, version, columns


class _Found(NamedTuple):
    state: str
    situation: lifecycle.Situation
    kept: tuple  # (handback_failing_from, ready_from, ready_until, rereview_from) stored
    rereview: dict | None  # what rereview_from reads of its launch approval, if any


def _situations(service_ids):
    """{service id: _Found} for the services: each one's Situation without `now`, what
    the re-review moment reads, and the moments kept."""
    launch, launch_version, launch_columns = _approval_columns()
    handoff, handoff_version, handoff_columns = _approval_columns()
    def last(kind):
        return (select(func.max(ManagementEvent.created_at))
                .where(ManagementEvent.service_id == Service.id, ManagementEvent.kind == kind)
                .correlate(Service).scalar_subquery())

    rows = db.session.execute(
        select(Service.id, Service.state, Service.tier, Service.handback_failing_from,
               Service.ready_until, Service.rereview_from, last("handback"),
               launch.approved_tier, launch_version.checklist_id, launch_version.version,
               *launch_columns, *handoff_columns, Service.ready_from, last("launch"))
        .select_from(Service)
        .outerjoin(launch, launch.id == latest_approval_id("launch"))
        .outerjoin(launch_version, launch_version.id == launch.checklist_version_id)
        .outerjoin(handoff, handoff.id == latest_approval_id("handoff"))
        .outerjoin(handoff_version, handoff_version.id == handoff.checklist_version_id)
        .where(Service.id.in_(service_ids))
        # PostgreSQL: a lifecycle move, an approval or an ingest of the same service
        # waits for this transaction, then decides on what it wrote (SQLite has one
        # writer at a time).
        .with_for_update(of=Service)).all()
    terms = waiver_terms([review_id for row in rows for review_id in (row[10], row[14])])
    trials = trial_rules_of([row[0] for row in rows if row[1] == "self_managed"])
    days = min_self_managed_days()
    found = {}
    for (service_id, state, tier, failing_from, ready_until, rereview_kept, last_handback_at,
         approved_tier, checklist_id, version, *approvals, ready_from, launched_at) in rows:
        launch_approval = (lifecycle.Approval(*approvals[:4], terms.get(approvals[0], ()))
                           if approvals[0] else None)
        handoff_approval = (lifecycle.Approval(*approvals[4:], terms.get(approvals[4], ()))
                            if approvals[4] else None)
        situation = lifecycle.Situation(
            state=state, now=None, launch_approval=launch_approval,
            handoff_approval=handoff_approval, last_handback_at=last_handback_at,
            launched_at=launched_at, min_self_managed_days=days,
            trials=trials.get(service_id, ()))
        rereview = None
        if launch_approval is not None and state in lifecycle.LIVE_STATES:
            rereview = {"approval": launch_approval, "approved_tier": approved_tier,
                        "tier": tier, "checklist_id": checklist_id, "version": version}
        found[service_id] = _Found(state, situation,
                                   (failing_from, ready_from, ready_until, rereview_kept),
                                   rereview)
    return found


def _rereview_moment(rereview, asking):
    if rereview is None:
        return None
    approval = rereview["approval"]
    return lifecycle.rereview_from(
        approved_at=approval.approved_at, expires_at=approval.expires_at(),
        approved_tier=rereview["approved_tier"], tier=rereview["tier"],
        approved_version=rereview["version"],
        rereview_version=asking.get(rereview["checklist_id"]), waivers=approval.waivers)


def refresh_worklists(service_ids=None, *, state=None):
    """Recompute the three moments of the services `service_ids` (when None: of every
    service in `state`, or of every service) and store those that changed; returns how
    many services changed."""
    if service_ids is None:
        every = select(Service.id).order_by(Service.id)
        service_ids = db.session.scalars(
            every if state is None else every.where(Service.state == state)).all()
    service_ids = list(service_ids)
    checks = None  # read once, when an ops-managed service needs them
    asking = None  # likewise, when a live service has a launch approval
    changed = 0
    for start in range(0, len(service_ids), CHUNK):
        found = _situations(service_ids[start:start + CHUNK])
        ops_managed = [i for i, f in found.items() if f.state == "ops_managed"]
        if ops_managed and checks is None:
            checks = current_required_checks("handback")
        if asking is None and any(f.rereview for f in found.values()):
            asking = rereview_versions()
        facts = latest_facts(ops_managed) if ops_managed and checks else {}
        rows = []
        for service_id, f in found.items():
            failing = None
            if f.state == "ops_managed":
                failing = checklists.failing_from(
                    checks, latest_values(facts.get(service_id, {})))
            window = lifecycle.allowed_window(f.situation)
            ready_from, ready = window if window is not None else (None, None)
            rereview = _rereview_moment(f.rereview, asking or {})
            if (failing, ready_from, ready, rereview) != f.kept:
                rows.append({"id_": service_id, "failing": failing, "ready": ready,
                             "ready_from": ready_from, "rereview": rereview})
        if rows:
            _store(rows, handback_failing_from="failing", ready_until="ready",
                   ready_from="ready_from", rereview_from="rereview")
        changed += len(rows)
    return changed


def _store(rows, **columns):
    """UPDATE service SET column = row[name] … for each of `rows` (by "id_"); not a
    change of the service to people, so its updated_at stays."""
    table = Service.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("id_"))
        .values(updated_at=table.c.updated_at,
                **{column: bindparam(name) for column, name in columns.items()}),
        rows)


# Built once: an ingest runs it with every post.
_STATE_AND_LATEST = (
    select(Service.state, Service.handback_failing_from, LatestFact.name, LatestFact.value,
           LatestFact.observed_at)
    .outerjoin(LatestFact, LatestFact.service_id == Service.id)
    .where(Service.id == bindparam("service_id")).with_for_update(of=Service))


def refresh_handback_moment(service_id):
    """After an ingest: recompute the one moment facts move (handback_failing_from) of
    one service; its approvals and events did not change. As refresh_worklists does, it
    reads the state under the service row's lock (PostgreSQL), in the same statement as
    the latest facts (an ingest pays for every statement here)."""
    rows = db.session.execute(_STATE_AND_LATEST, {"service_id": service_id}).all()
    state, kept = rows[0][:2]
    failing = None
    if state == "ops_managed":
        latest = {name: (value, at) for *_, name, value, at in rows if name is not None}
        failing = checklists.failing_from(current_required_checks("handback"), latest)
    if failing != kept:
        _store([{"id_": service_id, "failing": failing}], handback_failing_from="failing")
