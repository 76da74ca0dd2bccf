"""Which checklist versions are current.

A checklist's current version is its highest synced version: the one new reviews start
from, the one whose handback checks decide candidates, the one file syncs compare
against. Every face and use case asks here.
"""

from sqlalchemy import func, select

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
