"""Use cases for checklist files: loading them into the database."""

from dataclasses import dataclass, field

from ..audit import AuditAction, record
from ..domain import checklists
from ..domain.lifecycle import LIVE_STATES
from ..extensions import db
from ..models import ChecklistVersion
from ..queries.checklists import synced_versions
from .worklists import refresh_worklists


@dataclass
class SyncResult:
    added: list[ChecklistVersion] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[checklists.ChecklistError] = field(default_factory=list)


def sync_checklists(paths, *, actor=None):
    """Store each valid checklist file whose version is new; skip invalid files.

    An invalid file never replaces the last good version: its errors are returned
    and the database keeps what it had.
    """
    known = synced_versions()
    result = SyncResult()
    for file in checklists.load_all(checklists.discover(paths), known):
        if not file.is_valid:
            result.errors.extend(file.errors)
            continue
        checklist = file.checklist
        if checklist.id in known and known[checklist.id].version == checklist.version:
            result.unchanged.append(checklist.id)
            continue
        version = ChecklistVersion(
            checklist_id=checklist.id, version=checklist.version, stage=checklist.stage,
            title=checklist.title, valid_for_days=checklist.valid_for_days,
            content=checklist.content(), content_hash=checklist.content_hash(),
            source_path=file.path,
        )
        db.session.add(version)
        record(AuditAction.CHECKLIST_SYNC, actor=actor, subject=version,
               checklist=checklist.id, version=checklist.version,
               content_hash=version.content_hash)
        result.added.append(version)
    if any(version.stage == "handback" for version in result.added):
        db.session.flush()
        refresh_worklists(state="ops_managed")  # the checks that decide candidates changed
    if any(version.stage == "launch" and version.content.get("requires_rereview")
           for version in result.added):
        db.session.flush()
        for state in LIVE_STATES:  # their launch approvals may be older: re-reviews
            refresh_worklists(state=state)
    return result
