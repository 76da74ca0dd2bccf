"""The record: append-only, hash-chained audit entries.

Every write adds an entry in the same transaction as the change. The database
refuses UPDATE and DELETE of entries (triggers below, created with the table
and by the migration), each entry carries the SHA-256 of its predecessor and
of its own content, and appends are serialised so the chain cannot fork: an
advisory lock on PostgreSQL, the unique `seq` column everywhere.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import event, insert, select, text

from .domain.hashing import canonical_json
from .domain.reviews import review_content_hash
from .extensions import db
from .models import AuditEntry, Decision, Review, utcnow

GENESIS_HASH = "0" * 64
# Any constant will do; it names the lock that serialises appends on PostgreSQL.
APPEND_LOCK_KEY = 7_311_046_201

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$",
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()",
)
TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}


@event.listens_for(AuditEntry.__table__, "after_create")
def _create_triggers(table, connection, **kw):
    # The migration creates the same triggers; this covers metadata.create_all().
    for statement in TRIGGERS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


class AuditAction(StrEnum):
    """The `subject:verb` names of audited writes."""

    TEAM_CREATE = "team:create"
    TEAM_UPDATE = "team:update"
    USER_CREATE = "user:create"
    USER_UPDATE = "user:update"
    USER_LOGIN = "user:login"
    USER_LOGOUT = "user:logout"
    SERVICE_CREATE = "service:create"
    SERVICE_UPDATE = "service:update"
    SERVICE_LAUNCH = "service:launch"
    SERVICE_HANDOFF = "service:handoff"
    SERVICE_HANDBACK = "service:handback"
    SERVICE_RETIRE = "service:retire"
    FACT_RECORD = "fact:record"
    # Action names, not secrets.
    TOKEN_CREATE = "token:create"  # noqa: S105  # nosec B105
    TOKEN_REVOKE = "token:revoke"  # noqa: S105  # nosec B105
    CHECKLIST_SYNC = "checklist:sync"
    REVIEW_START = "review:start"
    REVIEW_SAVE = "review:save"
    REVIEW_SUBMIT = "review:submit"
    REVIEW_APPROVE = "review:approve"
    REVIEW_REQUEST_CHANGES = "review:request_changes"
    REVIEW_WITHDRAW = "review:withdraw"


class Actor(NamedTuple):
    """Who, for a caller that read the user's id, name and email without loading the user."""

    id: int
    name: str
    email: str


class Subject(NamedTuple):
    """What an entry is about, by table and id, for a caller that holds no ORM object."""

    table: str
    id: int

    @property
    def __tablename__(self):
        return self.table


def record(action, *, actor, subject, **changes):
    """Append an audit entry for `action` on `subject` by `actor` (None: the system).

    Flushes, so `subject` has its id; the caller's transaction commits both.
    """
    session = db.session
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    entry = SimpleNamespace(
        seq=seq,
        created_at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "system",
        actor_email=actor.email if actor else "",
        action=str(action),
        subject_type=subject.__tablename__,
        subject_id=str(subject.id),
        changes=json.loads(json.dumps(changes, default=_json_default)),
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    # A plain INSERT: an append-only row needs none of the unit of work's bookkeeping.
    session.execute(insert(AuditEntry.__table__), vars(entry))


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    raise TypeError(f"cannot record {type(value).__name__} in an audit entry")


def entry_hash(entry):
    """SHA-256 over the previous hash and the entry's canonical content."""
    content = {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "actor_email": entry.actor_email,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "changes": entry.changes,
    }
    return hashlib.sha256(f"{entry.prev_hash}\n{canonical_json(content)}".encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self):
        return f"{self.where}: {self.message}"


def verify():
    """Re-check the audit chain and every sign-off's content hash; return the problems."""
    problems = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    entries = db.session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)
    )
    for entry in entries:
        where = f"audit entry {entry.seq}"
        if entry.seq != expected_seq:
            problems.append(Problem(where, f"expected entry {expected_seq} here: entries missing"))
        if entry.prev_hash != prev_hash:
            problems.append(Problem(where, "does not follow the entry before it"))
        if entry_hash(entry) != entry.hash:
            problems.append(Problem(where, f"content altered ({entry.action})"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    problems.extend(_verify_sign_offs())
    return problems


def _verify_sign_offs():
    """Each sign-off must match the answers it froze and its entry in the (chained) record.

    The hashes stored on the review and the decision are ordinary columns; the
    `review:approve` entry is what cannot be rewritten unnoticed, so the consultant,
    the comment and the content hash are checked against it.
    """
    problems = []
    recorded = {}
    for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == str(AuditAction.REVIEW_APPROVE))):
        recorded.setdefault(entry.subject_id, []).append(entry)
    approvals = db.session.scalars(
        select(Decision).where(Decision.verdict == "approve").order_by(Decision.id))
    for decision in approvals:
        review = decision.review
        where = f"review {review.id}"
        actual = review_content_hash(review)
        if decision.content_hash != actual:
            problems.append(Problem(where, "answers changed after sign-off"))
        if review.content_hash != decision.content_hash:
            problems.append(Problem(where, "stored content hash differs from the sign-off"))
        entries = recorded.get(str(review.id), [])
        matching = [e for e in entries if e.changes.get("content_hash") == actual]
        if not matching:
            problems.append(Problem(where, "the signed-off content is not the content in "
                                           "the record's review:approve entry"))
        elif not any(e.actor_id == decision.consultant_id
                     and e.changes.get("comment", "") == decision.comment for e in matching):
            problems.append(Problem(where, "the sign-off's consultant or comment differs "
                                           "from the record"))
    unsigned = db.session.scalars(select(Review.id).where(
        Review.state == "approved", ~Review.decisions.any(Decision.verdict == "approve")))
    problems.extend(Problem(f"review {review_id}", "approved without a sign-off")
                    for review_id in unsigned)
    return problems
