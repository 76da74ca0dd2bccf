"""Campaigns (DESIGN.md "Campaigns"): rolling a checklist out over a set of services by a
deadline. Which services a campaign's filter takes, when a service is done, the
progress, the burn-up by day and the deadline reminders. Pure: no Flask, no database.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .inputs import SLUG_PATTERN, InvalidInput, day_start
from .lifecycle import STATES

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
# Reminders to the owning teams this many days before the deadline; 0: it has passed.
DEADLINE_REMINDER_DAYS = (14, 7, 1)
# The burn-up shows at most this many days (the latest ones).
MAX_CHART_DAYS = 120
# A deadline at most this far ahead (ten years).
MAX_AHEAD = timedelta(days=3653)


@dataclass(frozen=True)
class CampaignFilter:
    """Which services a campaign is about: every key given must match (empty: any)."""

    tiers: tuple[int, ...] = ()
    teams: tuple[str, ...] = ()  # team slugs
    states: tuple[str, ...] = ()

    def matches(self, *, tier: int, team: str, state: str) -> bool:
        return ((not self.tiers or tier in self.tiers)
                and (not self.teams or team in self.teams)
                and (not self.states or state in self.states))


@dataclass(frozen=True)
class Approval:
    """An approved review of the campaign's checklist for a service: its version, when
    it was approved, and when it stops counting (None: never)."""

    version: int
    approved_at: datetime
    expires_at: datetime | None


def is_done(approvals: Iterable[Approval], min_version: int, now: datetime) -> bool:
    """Done: an approved, unexpired review of the checklist at `min_version` or later."""
    return any(a.version >= min_version and a.approved_at <= now
               and (a.expires_at is None or now < a.expires_at) for a in approvals)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    by_team: dict = field(default_factory=dict)  # team -> (done, total)

    @property
    def share(self):
        return self.done / self.total if self.total else 1.0


def progress(scope, approvals, min_version, now) -> Progress:
    """`scope`: (service id, team) of each service in the campaign; `approvals`: {service
    id: [Approval]}."""
    done, by_team = 0, {}
    for service_id, team in scope:
        finished = is_done(approvals.get(service_id, ()), min_version, now)
        done += finished
        team_done, team_total = by_team.get(team, (0, 0))
        by_team[team] = (team_done + finished, team_total + 1)
    return Progress(done, len(scope), dict(sorted(by_team.items())))


def burn_up(scope, approvals, min_version, start: date, end: date):
    """[(day, services done at the end of that day)] from `start` to `end` (at most
    MAX_CHART_DAYS, the latest), for the burn-up chart. A service's day counts it done as
    the done rule says at that day's last moment, so an approval that expired drops it."""
    first = max(start, end - timedelta(days=MAX_CHART_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((end - first).days + 1)]
    return [(day, sum(is_done(approvals.get(service_id, ()), min_version,
                              day_start(day + timedelta(days=1)) - timedelta(microseconds=1))
                      for service_id, _ in scope)) for day in days]


def deadline_reminder(today: date, deadline: date) -> int | None:
    """Which deadline reminder is due on `today`: 14, 7 or 1 (days before; the nearest
    crossed), 0 once the deadline has passed, None more than 14 days before."""
    left = (deadline - today).days
    if left < 0:
        return 0
    crossed = [days for days in DEADLINE_REMINDER_DAYS if left <= days]
    return min(crossed) if crossed else None


@dataclass(frozen=True)
class CampaignInput:
    title: str
    description: str
    checklist_id: str
    min_version: int
    deadline: date
    filter: CampaignFilter


def parse_campaign(*, title, description, checklist_id, min_version, deadline, tiers, teams,
                   states, today: date, checklists: dict, known_teams) -> CampaignInput:
    """A CampaignInput from form text; `checklists` maps a reviewed checklist's id to its
    newest version.

    :raise InvalidInput: naming the field (`field`) and what is wrong.
    """
    title, description = (title or "").strip(), (description or "").strip()
    if not title:
        raise InvalidInput("Give the campaign a title.", field="title")
    if len(title) > MAX_TITLE or len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"The title is limited to {MAX_TITLE} characters and the "
                           f"description to {MAX_DESCRIPTION:,}.", field="title")
    if checklist_id not in checklists:
        raise InvalidInput("Choose a launch or handoff checklist.", field="checklist_id")
    text = (min_version or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6
            and 1 <= int(text) <= checklists[checklist_id]):
        raise InvalidInput(f"The minimum version is a whole number from 1 to "
                           f"{checklists[checklist_id]} (the newest).", field="min_version")
    try:
        when = date.fromisoformat((deadline or "").strip())
    except ValueError:
        raise InvalidInput("Give the deadline as YYYY-MM-DD.", field="deadline") from None
    if when <= today:
        raise InvalidInput("The deadline must be after today.", field="deadline")
    if when > today + MAX_AHEAD:
        raise InvalidInput("The deadline is at most ten years ahead.", field="deadline")
    try:
        tier_values = tuple(sorted({int(t) for t in tiers}))
    except ValueError:
        raise InvalidInput("Tiers are 1, 2 or 3.", field="tiers") from None
    if any(t not in (1, 2, 3) for t in tier_values):
        raise InvalidInput("Tiers are 1, 2 or 3.", field="tiers")
    team_values = tuple(sorted({t.strip() for t in teams if t.strip()}))
    unknown = [t for t in team_values if not SLUG_PATTERN.fullmatch(t) or t not in known_teams]
    if unknown:
        raise InvalidInput(f"No such team: {', '.join(unknown[:5])}.", field="teams")
    state_values = tuple(sorted(set(states)))
    if any(s not in STATES for s in state_values):
        raise InvalidInput("Choose states from the list.", field="states")
    return CampaignInput(title, description, checklist_id, int(text), when,
                         CampaignFilter(tier_values, team_values, state_values))
