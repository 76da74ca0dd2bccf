"""Who supports a service: management states, transitions and their guards; the deploy gate.

Pure data and functions: the caller gathers the facts a guard needs (`Situation`)
and gets back an `Outcome` that names everything missing, or the new state.

           launch                 handoff
 development ──────► self_managed ───────► ops_managed
                          ▲                     │
                          └──── handback ───────┘
 any state ── retire ──► retired
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from .pager import MIN_TRIAL_DAYS, TRIAL_COUNTS_FOR, counting_trial
from .waivers import expires_at as waiver_expires_at


class State(StrEnum):
    """Who supports a service; stored as its value, shown as its label."""

    DEVELOPMENT = "development"
    SELF_MANAGED = "self_managed"
    OPS_MANAGED = "ops_managed"
    RETIRED = "retired"

    @property
    def label(self):
        return _STATE_LABELS[self]


_STATE_LABELS = {
    State.DEVELOPMENT: "In development",
    State.SELF_MANAGED: "Self-managed",
    State.OPS_MANAGED: "Ops-managed",
    State.RETIRED: "Retired",
}
STATES = tuple(State)
# An approval "expires soon" within this: the dashboard's list, a handoff's warning.
EXPIRY_WINDOW = timedelta(days=30)
# Live: in production, with the gate open while its launch approval holds.
LIVE_STATES = (State.SELF_MANAGED, State.OPS_MANAGED)
STATE_LABELS = {state.value: state.label for state in State}
# The review a service needs next, by its state: the checklist picker starts there.
NEXT_REVIEW_STAGE = {State.DEVELOPMENT: "launch", State.SELF_MANAGED: "handoff",
                     State.OPS_MANAGED: "launch"}
# A management event as the service page names it ("Since DATE: handed back …").
EVENT_LABELS = {"launch": "launched", "handoff": "handed off to Ops",
                "handback": "handed back to the team", "retire": "retired"}
TRANSITION_LABELS = {
    "launch": "Launch",
    "handoff": "Hand off to Ops",
    "handback": "Hand back to the team",
    "retire": "Retire",
}

# (from state, transition) -> to state. Anything not here is refused.
TRANSITIONS = {
    ("development", "launch"): "self_managed",
    ("self_managed", "handoff"): "ops_managed",
    ("ops_managed", "handback"): "self_managed",
    ("development", "retire"): "retired",
    ("self_managed", "retire"): "retired",
    ("ops_managed", "retire"): "retired",
}
NEEDS_REASON = ("handback", "retire")


@dataclass(frozen=True)
class WaiverTerm:
    """A granted waiver an approval leans on: its item and the date it expires on."""

    item_id: str
    title: str
    expires_on: date

    def expires_at(self):
        return waiver_expires_at(self.expires_on)


@dataclass(frozen=True)
class Approval:
    """An approved review: when it was started and approved, how long it counts, and the
    granted waivers frozen into it."""

    review_id: int
    created_at: datetime
    approved_at: datetime
    valid_for_days: int | None
    waivers: tuple[WaiverTerm, ...] = ()

    def expires_at(self):
        if self.valid_for_days is None:
            return None
        return self.approved_at + timedelta(days=self.valid_for_days)

    def expired_waiver(self, now):
        """The first of its waivers to have expired by `now`, or None."""
        expired = [w for w in self.waivers if w.expires_at() <= now]
        return min(expired, key=lambda w: (w.expires_on, w.item_id)) if expired else None

    def holds_until(self):
        """When it stops counting: its expiry or its first waiver's, whichever is first
        (None: never)."""
        ends = [w.expires_at() for w in self.waivers]
        if self.expires_at() is not None:
            ends.append(self.expires_at())
        return min(ends, default=None)

    def is_valid(self, now):
        expires = self.expires_at()
        return expires is None or now < expires

    def expires_within(self, now, window=None):
        """True when it runs out within `window` (EXPIRY_WINDOW) from `now`, or has."""
        expires = self.expires_at()
        return expires is not None and expires <= now + (window or EXPIRY_WINDOW)


@dataclass(frozen=True)
class Situation:
    """What the guards look at, gathered by the caller."""

    state: str
    now: datetime
    actor_is_ops_lead: bool = False
    actor_is_admin: bool = False
    launch_approval: Approval | None = None  # the latest approved launch review
    handoff_approval: Approval | None = None  # the latest approved handoff review
    last_handback_at: datetime | None = None
    reason: str = ""
    # Who carries the pager, measured (a handoff's guards): when it was launched, the
    # self-managed time a handoff needs since then (or since its latest handback), its
    # pager trials (domain.pager.Trial), and, when taking it would put Ops over its cap,
    # what the ledger would say ("after taking …"), with the ops lead's reason to go over.
    launched_at: datetime | None = None
    min_self_managed_days: int = 0
    trials: tuple = ()
    over_cap: str | None = None
    over_cap_reason: str = ""

    @property
    def self_managed_since(self):
        """The latest launch or handback: the self-managed time and trials count from it."""
        moments = [m for m in (self.launched_at, self.last_handback_at) if m is not None]
        return max(moments, default=None)


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    to_state: str | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)


class TransitionRefused(Exception):
    """A lifecycle transition that its guards refuse; `missing` says what it needs."""

    def __init__(self, transition, missing):
        self.transition = transition
        self.missing = list(missing)
        verb = {"handoff": "hand off", "handback": "hand back"}.get(transition, transition)
        super().__init__(f"Cannot {verb}: needs " + "; ".join(self.missing) + ".")


def check(transition, situation):
    """May `transition` happen in `situation`? The outcome names everything missing."""
    to_state = TRANSITIONS.get((situation.state, transition))
    if to_state is None:
        return Outcome(False, missing=(_illegal(situation.state, transition),))
    missing = [*_actor_missing(transition, situation), *_guard_missing(transition, situation)]
    if transition in NEEDS_REASON and not situation.reason.strip():
        missing.append(f"a reason for the {transition}")
    return Outcome(not missing, to_state if not missing else None, tuple(missing))


def _illegal(state, transition):
    label = STATE_LABELS.get(state, state).lower()
    if state == "retired":
        return "the service is retired: nothing more can happen to it"
    expected = {"launch": "in development", "handoff": "self-managed",
                "handback": "ops-managed", "retire": "not retired"}[transition]
    return f"a service must be {expected} to {transition}; this one is {label}"


def _actor_missing(transition, s):
    if transition == "handoff":
        return [] if s.actor_is_ops_lead else ["an ops lead to accept the handoff"]
    if s.actor_is_ops_lead or s.actor_is_admin:
        return []
    return [f"an ops lead or admin to {transition} it"]


def _guard_missing(transition, s):
    if transition == "launch":
        if s.launch_approval is None:
            return ["an approved launch review"]
        if not s.launch_approval.is_valid(s.now):
            return [f"a launch approval that has not expired (review {s.launch_approval.review_id}"
                    f" expired {s.launch_approval.expires_at():%Y-%m-%d})"]
        return _waiver_missing(s.launch_approval, s.now)
    if transition == "handoff":
        approval = s.handoff_approval
        if approval is None:
            return ["an approved handoff review"]
        if s.last_handback_at is not None and approval.created_at <= s.last_handback_at:
            return [f"an approved handoff review made after the handback of "
                    f"{s.last_handback_at:%Y-%m-%d}"]
        if not approval.is_valid(s.now):
            return [f"a handoff approval that has not expired (review {approval.review_id} "
                    f"expired {approval.expires_at():%Y-%m-%d})"]
        return [*_waiver_missing(approval, s.now), *_pager_missing(s)]
    return []


def _pager_missing(s):
    """Who carries the pager, measured: self-managed long enough, a passed pager trial,
    and Ops' capacity; each refusal says what is missing and when it can be met."""
    missing = []
    since = s.self_managed_since
    what = "handback" if since is not None and since == s.last_handback_at else "launch"
    if since is not None and s.min_self_managed_days:
        eligible = since + timedelta(days=s.min_self_managed_days)
        if s.now < eligible:
            missing.append(f"at least {s.min_self_managed_days} days self-managed since its "
                           f"{what} on {since:%Y-%m-%d} (eligible from {eligible:%Y-%m-%d})")
    if counting_trial(s.trials, since, s.now) is None:
        after = f" ended after its {what} on {since:%Y-%m-%d}" if since else ""
        passed = [t for t in s.trials if t.outcome == "passed"
                  and (since is None or t.ended_at > since)]
        if passed:
            last = max(passed, key=lambda t: t.ended_on)
            hint = (f"the last one ended on {last.ended_on:%Y-%m-%d}, more than "
                    f"{TRIAL_COUNTS_FOR.days} days ago")
        else:
            earliest = max(s.now, since or s.now) + timedelta(days=MIN_TRIAL_DAYS)
            hint = (f"none yet: a trial started now could end on {earliest:%Y-%m-%d} at the "
                    f"earliest")
        missing.append(f"a passed pager trial{after} and at most {TRIAL_COUNTS_FOR.days} "
                       f"days ago ({hint})")
    if s.over_cap and not s.over_cap_reason.strip():
        missing.append(f"a reason to go over the Ops cap of 50 % ({s.over_cap})")
    return missing


def handoff_window(situation):
    """(from, until) in which the guards of a handoff on its approval hold (the actor,
    reason and capacity aside: a person gives those at the moment), or None. Kept on the
    service (ready_from, ready_until) so the waiting handoffs are an index range."""
    approval = situation.handoff_approval
    if approval is None:
        return None
    since = situation.self_managed_since
    start = approval.approved_at
    if since is not None and situation.min_self_managed_days:
        start = max(start, since + timedelta(days=situation.min_self_managed_days))
    # The passed trials after `since` count for TRIAL_COUNTS_FOR each: the last stretch
    # they cover without a gap is when one counts from now on.
    spans = sorted((t.ended_at, t.counts_until) for t in situation.trials
                   if t.outcome == "passed" and (since is None or t.ended_at > since))
    if not spans:
        return None
    covered_from, covered_until = spans[-1]
    for begin, end in reversed(spans[:-1]):
        if end >= covered_from:
            covered_from = min(covered_from, begin)
    start = max(start, covered_from)
    end = approval.holds_until() or FOREVER
    end = min(end, covered_until)
    at_start = replace(situation, now=start, actor_is_ops_lead=True, over_cap=None,
                       reason=situation.reason or "-")
    if start >= end or not check("handoff", at_start).allowed:
        return None
    return start, end


def _waiver_missing(approval, now):
    expired = approval.expired_waiver(now)
    if expired is None:
        return []
    return [f"an approval whose waivers hold (review {approval.review_id}: "
            f"{_waiver_expired(expired)})"]


def _waiver_expired(waiver):
    return f"the waiver of {waiver.item_id} expired on {waiver.expires_on:%Y-%m-%d}"


# The end of a moment that does not end: an approval without expiry.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
# The transition an ops lead makes next from each state, on an approved review.
NEXT_ON_APPROVAL = {State.DEVELOPMENT: "launch", State.SELF_MANAGED: "handoff"}


def allowed_window(situation):
    """(from, until) in which an ops lead may make the service's next move on an
    approval (launch from development, handoff from self-managed), as `check` decides
    (a person's reason and, for a handoff, Ops' capacity aside): `until` is FOREVER
    when nothing makes it run out; None when it is not allowed at any moment from the
    approval on. `situation.now` is not read.

    Only expiries, the self-managed time and the pager trials' ages depend on the time,
    so the move is allowed at `now` exactly when from <= now < until; pages keep both,
    and their lists of waiting services are index ranges.
    """
    transition = NEXT_ON_APPROVAL.get(situation.state)
    if transition == "handoff":
        return handoff_window(situation)
    approval = transition and getattr(situation, f"{transition}_approval")
    if approval is None:
        return None
    at_approval = replace(situation, now=approval.approved_at, actor_is_ops_lead=True,
                          reason=situation.reason or "-")
    if not check(transition, at_approval).allowed:
        return None
    return approval.approved_at, approval.holds_until() or FOREVER


def available(situation):
    """Each transition legal from this state, with its outcome (allowed, or what is missing)."""
    return {transition: check(transition, situation)
            for (state, transition) in TRANSITIONS if state == situation.state}


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    reasons: tuple[str, ...]


def gate(state, launch_approval, now):
    """May the service take production traffic? Every "no" lists its reasons."""
    reasons = []
    if state == "development":
        reasons.append("still in development: it has not been launched")
    elif state == "retired":
        reasons.append("retired")
    if state != "retired":
        if launch_approval is None:
            reasons.append("no approved launch review")
        elif not launch_approval.is_valid(now):
            reasons.append(f"the launch approval expired on "
                           f"{launch_approval.expires_at():%Y-%m-%d}: a re-review is needed")
        elif (expired := launch_approval.expired_waiver(now)) is not None:
            reasons.append(f"{_waiver_expired(expired)}: a re-review is needed")
    return GateDecision(not reasons, tuple(reasons))


@dataclass(frozen=True)
class GateAnswer:
    """What the gate answers for an environment: `passes` (HTTP 200, CLI exit 0) when
    the decision allows it, an active break-glass override lets it through, or the
    environment is advisory (then `advisory`: the refusal is only reported)."""

    passes: bool
    advisory: bool
    overridden: bool


def gate_answer(decision, mode, has_override):
    """The gate's answer to an environment in `mode` (enforce or advisory)."""
    if decision.allowed:
        return GateAnswer(True, False, False)
    if has_override:
        return GateAnswer(True, False, True)
    if mode == "advisory":
        return GateAnswer(True, True, False)
    return GateAnswer(False, False, False)


def rereview_reasons(*, now, expires_at, approved_tier, tier, approved_version,
                     rereview_version, waivers=()):
    """Why a service needs a new launch review, or [] (DESIGN.md "Re-reviews"): its
    approval expires within EXPIRY_WINDOW (or has), a waiver it leans on does
    (`waivers`: WaiverTerm), its tier became more critical than when it was approved (1
    is the most critical; None: not kept for old approvals), or a version of the
    checklist newer than the approved one sets `requires_rereview` (`rereview_version`:
    the newest such, or None)."""
    reasons = []
    if expires_at is not None and expires_at <= now + EXPIRY_WINDOW:
        verb = "expired" if expires_at <= now else "expires"
        reasons.append(f"its launch approval {verb} on {expires_at:%Y-%m-%d}")
    for waiver in sorted(waivers, key=lambda w: (w.expires_on, w.item_id)):
        if waiver.expires_at() <= now + EXPIRY_WINDOW:
            verb = "expired" if waiver.expires_at() <= now else "expires"
            reasons.append(f"the waiver of {waiver.item_id} it leans on {verb} on "
                           f"{waiver.expires_on:%Y-%m-%d}")
    if approved_tier is not None and tier < approved_tier:
        reasons.append(f"its tier became more critical (tier {approved_tier} when approved, "
                       f"tier {tier} now)")
    if rereview_version is not None and rereview_version > approved_version:
        reasons.append(f"version {rereview_version} of its launch checklist asks for a "
                       f"re-review (approved against version {approved_version})")
    return reasons


def rereview_from(*, approved_at, expires_at, approved_tier, tier, approved_version,
                  rereview_version, waivers=()):
    """From when `rereview_reasons` gives a reason (None: never, as things stand): pages
    keep this moment per live service, so "needs a re-review" is an index range. Only
    the expiries depend on the time; the tier and a newer checklist version count from
    the approval on."""
    moments = [w.expires_at() - EXPIRY_WINDOW for w in waivers]
    if expires_at is not None:
        moments.append(expires_at - EXPIRY_WINDOW)
    if (approved_tier is not None and tier < approved_tier) or (
            rereview_version is not None and rereview_version > approved_version):
        moments.append(approved_at)
    return min(moments, default=None)
