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

from .domain.facts import batch_digest
from .domain.hashing import canonical_json, content_hash
from .domain.reviews import review_content_hash
from .extensions import db
from .models import AuditEntry, Decision, Fact, ManagementEvent, Review, utcnow

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
    FACT_COLLECT = "fact:collect"  # a collector's run: readings of many services
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
    REVIEW_CONFIRM = "review:confirm"  # carried answers of a re-review confirmed
    # A waiver's entries are about its review (subject), with the waiver's id in changes.
    WAIVER_REQUEST = "waiver:request"
    WAIVER_GRANT = "waiver:grant"
    WAIVER_REFUSE = "waiver:refuse"
    WAIVER_WITHDRAW = "waiver:withdraw"
    CAMPAIGN_CREATE = "campaign:create"
    TRIAL_RECORD = "trial:record"
    CAPACITY_SET = "capacity:set"
    GATE_OVERRIDE = "gate:override"
    SUBSCRIPTION_CREATE = "subscription:create"
    SUBSCRIPTION_DISABLE = "subscription:disable"
    # Written by the worker, once each (commands.reminders).
    REMINDER_APPROVAL_EXPIRING = "reminder:approval_expiring"
    REMINDER_REVIEW_WAITING = "reminder:review_waiting"
    REMINDER_HANDBACK_CANDIDATE = "reminder:handback_candidate"
    REMINDER_WAIVER_EXPIRING = "reminder:waiver_expiring"
    REMINDER_REREVIEW_NEEDED = "reminder:rereview_needed"
    REMINDER_CAMPAIGN_DEADLINE = "reminder:campaign_deadline"


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


# Built once: every write appends an entry (a fact post pays for each statement built).
_LAST_ENTRY = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = insert(AuditEntry.__table__)


def record(action, *, actor, subject, **changes):
    """Append an audit entry for `action` on `subject` by `actor` (None: the system).

    Flushes, so `subject` has its id; the caller's transaction commits both.
    """
    session = db.session
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    last = session.execute(_LAST_ENTRY).first()
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
    session.execute(_APPEND, vars(entry))


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


def event_digest(event):
    """SHA-256 of a management event's content: kept in its entry, checked by verify. The
    handoff's load estimate and over-cap reason are in it when set (left out otherwise,
    so events made before they existed keep their digest)."""
    content = {
        "service": event.service_id, "kind": event.kind, "from_state": event.from_state,
        "to_state": event.to_state, "actor": event.actor_id, "reason": event.reason,
        "review": event.review_id, "facts": event.facts or {},
        "failing_items": event.failing_items or [],
        "return_conditions": event.return_conditions or "",
        "return_items": event.return_items or [],
        "target_date": event.target_date.isoformat() if event.target_date else None,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
    }
    if event.ops_hours_estimate is not None:
        content["ops_hours_estimate"] = event.ops_hours_estimate
    if event.over_cap_reason:
        content["over_cap_reason"] = event.over_cap_reason
    return content_hash(content)


class Head(NamedTuple):
    """The newest entry of the chain: keep it elsewhere to notice later truncation."""

    seq: int
    hash: str

    def __str__(self):
        return f"{self.seq}:{self.hash}"


def head():
    """The chain's newest entry as a Head, or None for an empty record."""
    row = db.session.execute(select(AuditEntry.seq, AuditEntry.hash)
                             .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return Head(row.seq, row.hash) if row else None


def verify(kept_head=None):
    """Re-check the audit chain, every sign-off's content hash, every management event
    and every stored fact against its entry; return the problems.

    `kept_head` (a Head printed by an earlier run) must still be in the chain: entries
    removed from the end since then (triggers dropped) are found that way."""
    problems = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    seen_head = kept_head is None
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
        if kept_head is not None and entry.seq == kept_head.seq:
            seen_head = True
            if entry.hash != kept_head.hash:
                problems.append(Problem(where, "is not the head kept earlier: the record "
                                               "was rewritten since"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    if not seen_head:
        problems.append(Problem(f"audit entry {kept_head.seq}",
                                "missing: the record ends before the head kept earlier"))
    problems.extend(_verify_sign_offs())
    problems.extend(_verify_events())
    problems.extend(_verify_facts())
    return problems


EVENT_ACTIONS = {"launch": AuditAction.SERVICE_LAUNCH, "handoff": AuditAction.SERVICE_HANDOFF,
                 "handback": AuditAction.SERVICE_HANDBACK,
                 "retire": AuditAction.SERVICE_RETIRE}


def event_entry_fields(managed):
    """What a transition's entry records of its management event, as recorded."""
    return {"from_state": managed.from_state, "to_state": managed.to_state,
            "reason": managed.reason, "review": managed.review_id,
            "return_conditions": managed.return_conditions or None,
            "return_items": managed.return_items or None,
            "target_date": managed.target_date.isoformat() if managed.target_date else None,
            **({"ops_hours_estimate": managed.ops_hours_estimate}
               if managed.ops_hours_estimate is not None else {}),
            **({"over_cap_reason": managed.over_cap_reason} if managed.over_cap_reason
               else {})}


def _verify_events():
    """Each management event must match its entry: by digest (entries that name the
    event), else field by field, the n-th event of a kind and service against the n-th
    such entry (entries made before events had digests)."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_([str(a) for a in EVENT_ACTIONS.values()]))
        .order_by(AuditEntry.seq)).all()
    by_event = {e.changes["event"]: e for e in entries if "event" in e.changes}
    older = {}
    for entry in entries:
        if "event" not in entry.changes:
            older.setdefault((entry.subject_id, entry.action), []).append(entry)
    problems = []
    for managed in db.session.scalars(select(ManagementEvent).order_by(ManagementEvent.id)):
        where = f"management event {managed.id} ({managed.kind})"
        entry = by_event.get(managed.id)
        if entry is not None:
            if entry.changes.get("event_digest") != event_digest(managed):
                problems.append(Problem(where, "changed after it was recorded"))
            continue
        waiting = older.get((str(managed.service_id), str(EVENT_ACTIONS[managed.kind])), [])
        if not waiting:
            problems.append(Problem(where, "not in the record"))
            continue
        entry = waiting.pop(0)
        differing = [key for key, value in event_entry_fields(managed).items()
                     if entry.changes.get(key) != value]
        if differing:
            problems.append(Problem(where, f"{', '.join(differing)} changed after it was "
                                           "recorded"))
    return problems


def _verify_facts():
    """The facts of each batch (one call that stored facts) must be those its fact:record
    or fact:collect entry names: as many, with the same digest (of a collect: with each
    fact's service). Facts stored before batches existed (no batch) are not covered
    (docs/record.md)."""
    recorded = {}  # batch -> entry
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            (str(AuditAction.FACT_RECORD), str(AuditAction.FACT_COLLECT))))):
        if "batch" in entry.changes:
            recorded[entry.changes["batch"]] = entry
    stored = {}  # batch -> [rows]
    rows = db.session.execute(
        select(Fact.batch, Fact.service_id, Fact.name, Fact.value, Fact.observed_at,
               Fact.source)
        .where(Fact.batch.is_not(None)).execution_options(yield_per=5000))
    for row in rows:
        stored.setdefault(row.batch, []).append(row)
    problems = []
    for batch, facts in stored.items():
        entry = recorded.pop(batch, None)
        where = f"facts of batch {batch}"
        if entry is None:
            problems.append(Problem(where, f"{len(facts)} fact(s) not in the record"))
            continue
        where = f"facts recorded by audit entry {entry.seq}"
        # The order they were stored in (one service's: by name and time).
        facts.sort(key=lambda f: (f.service_id, f.name, f.observed_at))
        services = ([f.service_id for f in facts]
                    if entry.action == AuditAction.FACT_COLLECT else None)
        if len(facts) != entry.changes["count"]:
            problems.append(Problem(where, f"{len(facts)} stored, "
                                           f"{entry.changes['count']} recorded"))
        elif batch_digest(facts, service_ids=services) != entry.changes["digest"]:
            problems.append(Problem(where, "a value, time or source changed after they "
                                           "were recorded"))
    for entry in recorded.values():
        problems.append(Problem(f"facts recorded by audit entry {entry.seq}",
                                f"0 stored, {entry.changes['count']} recorded"))
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
