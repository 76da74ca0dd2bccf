"""Which checklist versions are current.

A checklist's current version is its highest synced version: the one new reviews start
from, the one whose handback checks decide candidates, the one file syncs compare
against. Every face and use case asks here.
"""

from sqlalchemy import bindparam, func, select

from ..domain import checklists
from ..extensions import db
from ..models import ChecklistVersion


def _current_ids(stages=None):
    latest = (select(func.max(ChecklistVersion.id))
              .group_by(ChecklistVersion.checklist_id))
    if stages is not None:
        latest = latest.where(ChecklistVersion.stage.in_(stages))
    return latest


def current_versions(stages=None):
    """The current version of each checklist (of `stages`, a tuple, or of all), by title."""
    # Versions only go up, and a higher version is always synced after a lower one, so
    # the newest row of a checklist is its highest version; ordered by version to be plain.
    newest = (select(ChecklistVersion.checklist_id,
                     func.max(ChecklistVersion.version).label("version"))
              .group_by(ChecklistVersion.checklist_id))
    if stages is not None:
        newest = newest.where(ChecklistVersion.stage.in_(stages))
    newest = newest.subquery()
    rows = db.session.scalars(
        select(ChecklistVersion).join(
            newest, (ChecklistVersion.checklist_id == newest.c.checklist_id)
            & (ChecklistVersion.version == newest.c.version))
    ).all()
    return sorted(rows, key=lambda v: (v.title, v.checklist_id))


# {((id, content hash), …) of current versions: their required checks}. A synced
# version never changes (new content needs a new version), so its checks are known once
# seen; each call still asks the database which versions are current.
_REQUIRED_CHECKS = {}
_VERSIONS_OF_STAGE = (select(ChecklistVersion.checklist_id, ChecklistVersion.version,
                             ChecklistVersion.id, ChecklistVersion.content_hash)
                      .where(ChecklistVersion.stage == bindparam("stage")))  # built once


def current_required_checks(stage):
    """The checks of the required items of `stage`'s current checklists, as
    domain.checklists.required_checks gives them: what a fact ingest reads on every
    post, so it costs one small query once the versions were seen."""
    newest = {}  # checklist id -> (version, id, content hash) of its highest version
    for checklist_id, version, version_id, content_hash in db.session.execute(
            _VERSIONS_OF_STAGE, {"stage": stage}):
        if checklist_id not in newest or version > newest[checklist_id][0]:
            newest[checklist_id] = (version, version_id, content_hash)
    key = tuple(sorted((version_id, content_hash)
                       for _, version_id, content_hash in newest.values()))
    checks = _REQUIRED_CHECKS.get(key)
    if checks is None:
        checks = checklists.required_checks(db.session.scalars(
            select(ChecklistVersion.content).where(ChecklistVersion.id.in_(
                [version_id for version_id, _ in key])).order_by(ChecklistVersion.id)))
        if len(_REQUIRED_CHECKS) >= 64:
            _REQUIRED_CHECKS.clear()
        _REQUIRED_CHECKS[key] = checks
    return checks


def synced_versions():
    """{checklist id: SyncedVersion} of every checklist's current version, for
    `checklists.load_all` (its version rules compare files against these)."""
    return {row.checklist_id: checklists.SyncedVersion(row.version, row.content_hash,
                                                       row.stage)
            for row in current_versions()}


def handoff_item_titles():
    """{item id: title} of the current handoff checklists' items (what a return after a
    handback must pass)."""
    return {item["id"]: item["title"]
            for version in current_versions(("handoff",))
            for _, item in checklists.items_of(version.content)}


def rereview_versions():
    """{launch checklist id: its newest version that sets requires_rereview}."""
    found = {}
    for checklist_id, version, content in db.session.execute(
            select(ChecklistVersion.checklist_id, ChecklistVersion.version,
                   ChecklistVersion.content).where(ChecklistVersion.stage == "launch")):
        if content.get("requires_rereview"):
            found[checklist_id] = max(version, found.get(checklist_id, 0))
    return found
