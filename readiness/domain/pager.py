"""Who carries the pager, measured (DESIGN.md): pager trials and the Ops capacity ledger.

Pure: no Flask, no database. The handoff guards that read these live in
domain.lifecycle; this module says what a valid trial is, which trial counts, and what
a service's Ops load and the ledger's cap are.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .inputs import InvalidInput, day_start

MIN_TRIAL_DAYS = 7  # a trial lasts at least a week
TRIAL_COUNTS_FOR = timedelta(days=90)  # a passed trial counts this long after it ended
OUTCOMES = ("passed", "failed")
MAX_NOTES = 20_000
MAX_PAGES = 10_000
# Ops work stays under this share of Ops' time (SRE book ch. 1 and 11).
OPS_SHARE_CAP = 0.5
MAX_CAPACITY_HOURS = 100_000.0
MAX_LOAD_HOURS = 10_000.0
# The fact a service's Ops load is read from (hours of Ops work a week).
LOAD_FACT = "ops_hours_per_week"


@dataclass(frozen=True)
class TrialInput:
    started_on: date
    ended_on: date
    shadow: str
    pages_total: int
    pages_actionable: int
    outcome: str
    notes: str


def parse_trial(*, started_on, ended_on, shadow, pages_total, pages_actionable, outcome,
                notes, today: date) -> TrialInput:
    """A TrialInput from form text.

    :raise InvalidInput: naming the field and what is wrong.
    """
    days = {}
    for name, text in (("started_on", started_on), ("ended_on", ended_on)):
        try:
            days[name] = date.fromisoformat((text or "").strip())
        except ValueError:
            raise InvalidInput("Give the date as YYYY-MM-DD.", field=name) from None
    start, end = days["started_on"], days["ended_on"]
    if end > today:
        raise InvalidInput("Record a trial once it has ended: the end is after today.",
                           field="ended_on")
    if end < start:
        raise InvalidInput("The end comes before the start.", field="ended_on")
    if (end - start).days < MIN_TRIAL_DAYS:
        raise InvalidInput(f"A pager trial lasts at least {MIN_TRIAL_DAYS} days: end it on "
                           f"{start + timedelta(days=MIN_TRIAL_DAYS)} or later.",
                           field="ended_on")
    shadow = (shadow or "").strip()
    if not shadow or len(shadow) > 200:
        raise InvalidInput("Name who from Ops shadowed the pager (at most 200 characters).",
                           field="shadow")
    counts = {}
    for name, text in (("pages_total", pages_total), ("pages_actionable", pages_actionable)):
        text = (text or "").strip()
        if not (text.isascii() and text.isdigit() and int(text) <= MAX_PAGES):
            raise InvalidInput(f"A whole number of pages from 0 to {MAX_PAGES:,}.", field=name)
        counts[name] = int(text)
    if counts["pages_actionable"] > counts["pages_total"]:
        raise InvalidInput("More actionable pages than pages in all.",
                           field="pages_actionable")
    if outcome not in OUTCOMES:
        raise InvalidInput("Choose passed or failed.", field="outcome")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes are limited to {MAX_NOTES:,} characters.", field="notes")
    return TrialInput(start, end, shadow, counts["pages_total"], counts["pages_actionable"],
                      outcome, notes)


@dataclass(frozen=True)
class Trial:
    """What the handoff guard looks at of a recorded trial."""

    started_on: date
    ended_on: date
    outcome: str

    @property
    def ended_at(self) -> datetime:
        """The start (00:00 UTC) of its end date: a trial from the 1st to the 8th lasted 7
        days, and counts from the 8th on."""
        return day_start(self.ended_on)

    @property
    def counts_until(self) -> datetime:
        """The end of the 90th day after its end date: it counts through that day."""
        return day_start(self.ended_on + TRIAL_COUNTS_FOR + timedelta(days=1))


def counting_trial(trials: Iterable[Trial], since: datetime | None, now: datetime):
    """The passed trial that lets a handoff happen at `now`: ended after `since` (the
    latest launch or handback) and at most TRIAL_COUNTS_FOR ago; the latest such, or
    None."""
    found = [t for t in trials if t.outcome == "passed" and t.ended_at <= now
             and (since is None or t.ended_at > since) and now < t.counts_until]
    return max(found, key=lambda t: t.ended_on, default=None)


def load_of(latest_fact: float | None, estimate: float | None) -> float:
    """A service's weekly Ops load in hours: its latest ops_hours_per_week fact, else the
    estimate recorded when it was handed off, else 0."""
    if latest_fact is not None:
        return float(latest_fact)
    return float(estimate or 0.0)


@dataclass(frozen=True)
class Ledger:
    """Ops' load against its cap: capacity in engineer-hours a week, and each
    ops-managed service's load."""

    capacity: float | None
    loads: Mapping[str, float]

    @property
    def total(self) -> float:
        return sum(self.loads.values())

    @property
    def cap(self) -> float | None:
        return None if self.capacity is None else self.capacity * OPS_SHARE_CAP

    def share(self, extra: float = 0.0) -> float | None:
        """The load (plus `extra`) as a share of capacity, or None when none is set."""
        if not self.capacity:
            return None
        return (self.total + extra) / self.capacity

    def is_over(self, extra: float = 0.0) -> bool:
        return self.cap is not None and self.total + extra > self.cap

    def after_taking(self, name: str, hours: float) -> str:
        """"after taking NAME: N h of M h (P %)", as the handoff form says it."""
        if not self.capacity:
            return (f"after taking {name}: {self.total + hours:g} h a week of Ops work "
                    f"(no Ops capacity set)")
        return (f"after taking {name}: {self.total + hours:g} h of {self.capacity:g} h "
                f"({100 * self.share(hours):.0f} %)")


def parse_hours(text, *, field, most=MAX_LOAD_HOURS, allow_empty=False) -> float | None:
    """Hours a week from form text (a number ≥ 0, at most `most`).

    :raise InvalidInput: naming `field`.
    """
    text = (text or "").strip()
    if not text and allow_empty:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput("Give a number of hours a week.", field=field) from None
    if not (0 <= value <= most):
        raise InvalidInput(f"Between 0 and {most:,.0f} hours a week.", field=field)
    return value + 0.0  # -0 is 0
