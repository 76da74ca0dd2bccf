"""The data model: one class per concept of DESIGN.md, typed SQLAlchemy 2 style.

Enum-like values are lowercase strings guarded by CHECK constraints; every
timestamp is timezone-aware UTC and its name ends in `_at`.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.lifecycle import STATES as SERVICE_STATES
from .domain.pager import OUTCOMES as PAGER_OUTCOMES
from .domain.reviews import ANSWER_STATUSES, REVIEW_STATES
from .domain.waivers import WAIVER_STATES
from .extensions import db

VERDICTS = ("approve", "request_changes")
EVENT_KINDS = ("launch", "handoff", "handback", "retire")
STAGES = ("launch", "handoff", "handback")
ROLES = ("consultant", "ops_lead", "admin")


_clock: ContextVar[datetime | None] = ContextVar("clock", default=None)


def utcnow() -> datetime:
    """Now, in UTC; inside `clock_at(moment)`, that moment (the demo tells a past story)."""
    return _clock.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime):
    token = _clock.set(moment)
    try:
        yield moment
    finally:
        _clock.reset(token)


class _SQLiteText(sqlite.DATETIME):
    """SQLite's DATETIME column, converted by UTCDateTime itself: the same text SQLAlchemy
    writes ("YYYY-MM-DD HH:MM:SS.ffffff"), made and read by the datetime module's C code,
    several times faster than SQLAlchemy's own conversion (a thousand facts a request)."""

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        return None


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive, as text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteText())
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.isoformat(" ", "microseconds").removesuffix("+00:00")
        return value

    def bind_column(self, values, dialect):
        """[process_bind_param(v) for v in values], the same values, in a third of the
        time for the common case of UTC moments (a thousand facts a request): those need
        no conversion, and on SQLite their text is isoformat's without the "+00:00"."""
        convert = self.process_bind_param
        if dialect.name == "sqlite":
            return [v.isoformat(" ", "microseconds")[:26] if v is not None and v.tzinfo is UTC
                    else convert(v, dialect) for v in values]
        return [v if v is not None and v.tzinfo is UTC else convert(v, dialect) for v in values]

    def bind_rfc3339_column(self, values, texts, dialect):
        """bind_column(values), given the RFC 3339 texts they were read from (None where
        there was none). On SQLite a text of the form YYYY-MM-DDTHH:MM:SS.ffffffZ already
        holds the stored text's digits, in order: taken as they are, that is a seventh
        of the time of formatting the moment again (held to bind_column by a test)."""
        if dialect.name != "sqlite":
            return self.bind_column(values, dialect)
        formatted = self.bind_column
        return [text[:10] + " " + text[11:26]
                if text is not None and len(text) == 27 and text[26] in "Zz"
                else formatted([value], dialect)[0]
                for value, text in zip(values, texts, strict=True)]

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{v!s}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_valid")


team_membership = Table(
    "team_membership",
    db.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    # A person's teams, without walking every team.
    Index("ix_team_membership_user_id", "user_id"),
)


class Team(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["User"]] = relationship(
        secondary=team_membership, back_populates="teams", order_by="User.name"
    )
    services: Mapped[list["Service"]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return f"<Team {self.slug}>"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_consultant: Mapped[bool] = mapped_column(default=False)
    is_ops_lead: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    # Rotated on logout and password change so a copied session cookie stops working.
    session_nonce: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    teams: Mapped[list[Team]] = relationship(
        secondary=team_membership, back_populates="members", order_by="Team.name"
    )

    @property
    def roles(self) -> list[str]:
        return [role for role in ROLES if getattr(self, f"is_{role}")]

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    def get_id(self) -> str:
        # The nonce makes the session's user id change on logout and password change.
        return f"{self.id}:{self.session_nonce}"

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Service(db.Model):
    __table_args__ = (
        one_of("state", SERVICE_STATES),
        CheckConstraint("tier BETWEEN 1 AND 3", name="tier_valid"),
        Index("ix_service_launch_expiry", "state", "launch_valid_days", "launch_approved_at"),
        Index("ix_service_handback_failing", "state", "handback_failing_from", "name"),
        Index("ix_service_ready", "state", "ready_until", "name"),
        # The service list, in name order, whole or by one filter: a page is an index range.
        Index("ix_service_name", "name", "id"),
        Index("ix_service_state_name", "state", "name", "id"),
        Index("ix_service_state_tier_name", "state", "tier", "name", "id"),
        Index("ix_service_tier_name", "tier", "name", "id"),
        Index("ix_service_team_name", "team_id", "name", "id"),
        Index("ix_service_catalog_production", "state", "catalog_lifecycle", "name", "id"),
        # Live services needing a launch re-review: all of them, or a team's.
        Index("ix_service_rereview", "rereview_from", "name", "id"),
        Index("ix_service_team_rereview", "team_id", "rereview_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    tier: Mapped[int] = mapped_column(default=2)
    state: Mapped[str] = mapped_column(String(20), default="development", index=True)
    repo_url: Mapped[str | None] = mapped_column(String(500))
    runbook_url: Mapped[str | None] = mapped_column(String(500))
    dashboard_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The latest approved launch review: its id, approval time and its checklist version's
    # valid_for_days. Kept by triggers on `review` (readiness.summaries), so the expiring
    # approvals are an index range, not a search of every live service's reviews.
    launch_review_id: Mapped[int | None] = mapped_column()
    launch_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launch_valid_days: Mapped[int | None] = mapped_column()
    # The ops lead's worklists, kept by readiness.commands.worklists as the domain decides:
    # from when an ops-managed service fails its handback checks, and until when a
    # service's launch or handoff may be made on its approval.
    handback_failing_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ... and from when (a handoff also waits for self-managed time and a pager trial).
    ready_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From when a live service needs a launch re-review (domain.lifecycle.rereview_from;
    # None when not live or never, as things stand), kept by the same writes.
    rereview_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From the service catalog (readiness.commands.catalog): whether an import brought
    # it, and its lifecycle there (`production`, `experimental` …). Never its state here.
    from_catalog: Mapped[bool] = mapped_column(server_default=false())
    catalog_lifecycle: Mapped[str | None] = mapped_column(String(40))

    team: Mapped[Team] = relationship(back_populates="services")
    reviews: Mapped[list["Review"]] = relationship(back_populates="service")

    def __repr__(self) -> str:
        return f"<Service {self.slug} {self.state}>"


class ServiceStateCount(db.Model):
    """How many services are in each state, kept by triggers on `service` in the same
    transaction as every change (readiness.summaries): the dashboard reads four rows
    instead of counting the organisation. A state no service has had may have no row."""

    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    services: Mapped[int] = mapped_column(default=0)


class ReviewStateCount(db.Model):
    """How many reviews of each stage are in each state, kept by triggers on `review`
    (readiness.summaries)."""

    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    reviews: Mapped[int] = mapped_column(default=0)


class ReviewCycleCount(db.Model):
    """How many reviews approved in each month ("YYYY-MM", UTC) took each number of
    tenths of a day (rounded down; whole seconds) from first submission to approval, kept
    by triggers on `review` (readiness.summaries): the median per month without reading
    every approval."""

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    tenths: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reviews: Mapped[int] = mapped_column(default=0)


class EventMonthCount(db.Model):
    """How many management events of each kind were made in each month ("YYYY-MM", UTC),
    kept by a trigger on `management_event` (readiness.summaries)."""

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    events: Mapped[int] = mapped_column(default=0)


class CatalogImport(db.Model):
    """One run of `flask catalog import`, whatever came of it, for the admin page: when,
    from where (file paths and backend addresses, never a token), what it counted and
    the first errors of a refused run."""

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_by: Mapped[str] = mapped_column(String(200))
    sources: Mapped[list] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(20))  # imported, dry run, refused
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # the first MAX_KEPT_ERRORS


class CatalogFileReading(db.Model):
    """What a descriptor file without errors mapped to (domain.catalog.Reading, as JSON),
    under the key of its text and the mapping code: the next import of the same file
    takes it from here instead of parsing the YAML again. Kept while imports use it."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    reading: Mapped[dict] = mapped_column(JSON)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ChecklistVersion(db.Model):
    """One synced version of a checklist file; reviews point at the exact version."""

    __table_args__ = (
        UniqueConstraint("checklist_id", "version", name="uq_checklist_version_id_version"),
        one_of("stage", STAGES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    valid_for_days: Mapped[int | None]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(String(500))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ChecklistVersion {self.checklist_id} v{self.version}>"


class Review(db.Model):
    __table_args__ = (
        one_of("state", REVIEW_STATES),
        # A service's latest approval (gate, dashboard expiry list) ...
        Index("ix_review_service_state_approved", "service_id", "state", "approved_at"),
        # A consultant's queue: submitted reviews, oldest first.
        Index("ix_review_state_submitted", "state", "submitted_at", "id"),
        # ... and the review cycle chart, read from the index alone.
        Index("ix_review_state_approved_submitted", "state", "approved_at",
              "first_submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"))
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first submission, for the review cycle time (submitted -> approved).
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The service's tier when approved (None for approvals made before it was kept).
    approved_tier: Mapped[int | None]
    # A re-review: the approved review of the same checklist its answers were carried from.
    previous_review_id: Mapped[int | None] = mapped_column()
    # SHA-256 of the frozen review, stored when it is approved.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped by every change: a save made against an older version is refused.
    version_id: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012

    service: Mapped[Service] = relationship(back_populates="reviews")
    checklist_version: Mapped[ChecklistVersion] = relationship()
    created_by: Mapped[User | None] = relationship()
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Answer.id"
    )
    decisions: Mapped[list["Decision"]] = relationship(
        back_populates="review", order_by="Decision.created_at"
    )
    waivers: Mapped[list["Waiver"]] = relationship(
        back_populates="review", order_by="Waiver.id"
    )


class Answer(db.Model):
    __table_args__ = (
        UniqueConstraint("review_id", "item_id", name="uq_answer_review_item"),
        one_of("status", ANSWER_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    # None while the team has notes but no verdict yet.
    status: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Carried by a re-review from this earlier approved review, until confirmed or changed.
    carried_from_id: Mapped[int | None] = mapped_column()
    version_id: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012

    review: Mapped[Review] = relationship(back_populates="answers")
    answered_by: Mapped[User | None] = relationship()


class Waiver(db.Model):
    """A request to leave one item of a review unmet until a date, and its decision
    (domain.waivers). Granted ones are frozen into the review's sign-off."""

    __table_args__ = (
        one_of("state", WAIVER_STATES),
        # The dashboard's waivers expiring soon: an index range.
        Index("ix_waiver_in_force_expires", "in_force", "expires_on", "id"),
        # Consultants' queue: requests waiting for a decision, oldest first.
        Index("ix_waiver_state_requested", "state", "requested_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(Text)
    control: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    # Kept by commands.waivers.keep_in_force (not part of the sign-off): granted, its
    # review approved and still the service's latest approval of its stage (what the gate
    # and the lifecycle guards lean on), and the service not retired.
    in_force: Mapped[bool] = mapped_column(server_default=false(), default=False)

    review: Mapped[Review] = relationship(back_populates="waivers")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Decision(db.Model):
    __table_args__ = (one_of("verdict", VERDICTS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    # {item_id: comment} for item-level remarks.
    item_comments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # For an approval: SHA-256 of the review content signed off.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="decisions")
    consultant: Mapped[User | None] = relationship()


class Fact(db.Model):
    __table_args__ = (
        UniqueConstraint("service_id", "name", "observed_at", name="uq_fact_service_name_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(120), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The call that stored it (a random number, also in its fact:record entry with the
    # batch's digest, for `audit verify`); None for facts stored before batches existed.
    batch: Mapped[int | None] = mapped_column(BigInteger)

    service: Mapped[Service] = relationship()


class LatestFact(db.Model):
    """The newest reading of each fact of each service, kept by record_new_facts.

    Pages and the handback candidates read it instead of searching a growing fact table.
    """

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(120), default="")


class ManagementEvent(db.Model):
    """A change of who supports a service: launch, handoff, handback or retire."""

    __table_args__ = (
        one_of("kind", EVENT_KINDS),
        Index("ix_management_event_service_created", "service_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"))
    # Handback only: the facts that prompted it, the failing criteria and the way back.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failing_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    return_conditions: Mapped[str] = mapped_column(Text, default="")
    return_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_date: Mapped[date | None] = mapped_column(Date)
    # Handoff only: the weekly Ops load estimated when Ops took it (hours), and the ops
    # lead's reason to go over the Ops cap, when the handoff did.
    ops_hours_estimate: Mapped[float | None]
    over_cap_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship()
    actor: Mapped[User | None] = relationship()
    review: Mapped[Review | None] = relationship()


class AuditEntry(db.Model):
    """An append-only, hash-chained record of one write.

    The database refuses UPDATE and DELETE (see audit.py). `actor_id` has no
    foreign key on purpose: the entry outlives the user, and a cascading
    SET NULL would be an UPDATE the triggers refuse.
    """

    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(120))
    actor_email: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LoginAttempt(db.Model):
    """A failed sign-in, kept briefly to rate-limit guessing per client address.

    In the database, not in process memory, so every app server sees the same count.
    """

    __table_args__ = (Index("ix_login_attempt_address_at", "address", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):
    """A bearer token for the HTTP API, acting as its user. Stored as a SHA-256 digest;
    the token itself is shown once, when it is made."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


SUBSCRIPTION_KINDS = ("webhook", "slack", "email")
DELIVERY_STATES = ("pending", "delivered", "failed", "cancelled")


class Subscription(db.Model):
    """Someone asking to be told of events (docs/notifications.md): where (`kind` and
    `target`: a URL, or an email address), and which events (empty filters: all)."""

    __table_args__ = (one_of("kind", SUBSCRIPTION_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(2000))
    # A webhook's signing secret (whsec_…): shown once; kept, as signing needs it.
    secret: Mapped[str | None] = mapped_column(String(100))
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    teams: Mapped[list] = mapped_column(JSON, default=list)  # team slugs
    services: Mapped[list] = mapped_column(JSON, default=list)  # service slugs
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    # The record's last entry when it was made: it is told of the entries after it.
    since_seq: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    # A worker sending its deliveries holds it until then (one worker a subscription).
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()


class Delivery(db.Model):
    """One event for one subscription: its body fixed when made, its `message_id` the
    same on every attempt (the `webhook-id`)."""

    __table_args__ = (
        one_of("state", DELIVERY_STATES),
        Index("ix_delivery_subscription_state_id", "subscription_id", "state", "id"),
        Index("ix_delivery_state_next", "state", "next_attempt_at"),
        Index("ix_delivery_subscription_id", "subscription_id", "id"),  # its page
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"))
    event_seq: Mapped[int]  # the audit entry's seq (0: a test message)
    event_type: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)  # attempts that failed (not 429s)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryCount(db.Model):
    """Attempts at deliveries by outcome (delivered, retried, failed, cancelled), kept in
    the transaction that notes each: GET /metrics reads a few rows, however long the
    history."""

    outcome: Mapped[str] = mapped_column(String(12), primary_key=True)
    deliveries: Mapped[int] = mapped_column(default=0)


class ReminderSent(db.Model):
    """A reminder the worker wrote into the record, by its key (what, which, when): the
    key is unique, so each is written exactly once, whichever worker gets there."""

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerSchedule(db.Model):
    """When a periodic job of the workers (reminders, each fact source) last ran: a
    worker takes a turn with one conditional UPDATE, so one of them runs it."""

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventCursor(db.Model):
    """How far the worker has turned the record into deliveries (the record is the
    outbox: an entry is written with its change, so no event is lost)."""

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)


class Campaign(db.Model):
    """Rolling a checklist out over services by a deadline (domain.campaigns). Its scope
    is CampaignService: the services its filter matched when it started, and those
    created later that match."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    checklist_id: Mapped[str] = mapped_column(String(64))
    min_version: Mapped[int]
    tiers: Mapped[list[int]] = mapped_column(JSON, default=list)
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    states: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class CampaignService(db.Model):
    """A service in a campaign's scope, and when it joined."""

    __table_args__ = (
        # A team's campaign services (My work): by service.
        Index("ix_campaign_service_service", "service_id", "campaign_id"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PagerTrial(db.Model):
    """A week or more in which Ops shadowed a self-managed service's pager before taking
    it (domain.pager): the pages graded, the outcome and notes."""

    __table_args__ = (
        one_of("outcome", PAGER_OUTCOMES),
        Index("ix_pager_trial_service_ended", "service_id", "ended_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    started_on: Mapped[date]
    ended_on: Mapped[date]
    shadow: Mapped[str] = mapped_column(String(200))
    pages_total: Mapped[int]
    pages_actionable: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class OpsCapacity(db.Model):
    """Ops capacity in engineer-hours a week, each setting kept (the latest counts; the
    ledger's chart reads the history)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    hours: Mapped[float]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    set_by: Mapped[User | None] = relationship()


class GateOverride(db.Model):
    """Break-glass: an ops lead lets one service's gate answer yes until `expires_at`
    (at most 24 hours ahead), with a reason."""

    __table_args__ = (Index("ix_gate_override_service_expires", "service_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship()
    granted_by: Mapped[User | None] = relationship()
