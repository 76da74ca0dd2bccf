"""What the campaign pages and My work show: progress, the burn-up, the table per team
and the overdue services. A campaign page reads its own scope (what it shows: counts over
each of its services), never the rest of the organisation."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..domain import campaigns as rules
from ..domain import charts
from ..extensions import db
from ..models import Campaign, CampaignService, ChecklistVersion, Review, Service, Team
from .waivers import waiver_terms
from .worklists import Worklist

# Campaigns on the list page, newest deadline last.
LIST_PAGE = 100
CHUNK = 500  # services per statement when reading a scope's approvals
# My work shows a team its campaigns until this long after their deadline.
SHOWN_AFTER_DEADLINE = timedelta(days=30)


def campaign_list(limit=LIST_PAGE):
    """The latest `limit` campaigns by deadline (latest first), each with how many services
    it holds."""
    scope = (select(func.count()).where(CampaignService.campaign_id == Campaign.id)
             .correlate(Campaign).scalar_subquery())
    rows = db.session.execute(select(Campaign, scope.label("services"))
                              .order_by(Campaign.deadline.desc(), Campaign.id.desc())
                              .limit(limit)).all()
    return [(campaign, services) for campaign, services in rows]


def _approvals(campaign, service_ids):
    """{service id: [domain.campaigns.Approval]} of the campaign's checklist for the
    services `service_ids`: found service by service (ix_review_service_state_approved;
    joined from the scope, SQLite walks every approved review of the organisation
    instead), in chunks."""
    found = {}
    service_ids = list(service_ids)
    for start in range(0, len(service_ids), CHUNK):
        rows = db.session.execute(
                select(Review.service_id, Review.state, ChecklistVersion.version,
                       Review.approved_at, ChecklistVersion.valid_for_days, Review.id)
                .join(ChecklistVersion, ChecklistVersion.id == Review.checklist_version_id)
                .where(Review.service_id.in_(service_ids[start:start + CHUNK]),
                       ChecklistVersion.checklist_id == campaign.checklist_id)).all()
        approved = [row for row in rows if row[1] == "approved"]
        terms = waiver_terms([row[5] for row in approved])
        for service_id, _, version, approved_at, valid_for_days, review_id in approved:
            # It stops counting when it expires, or when a waiver it leans on does.
            ends = [w.expires_at() for w in terms.get(review_id, ())]
            if valid_for_days is not None:
                ends.append(approved_at + timedelta(days=valid_for_days))
            found.setdefault(service_id, []).append(
                rules.Approval(version, approved_at, min(ends, default=None)))
    return found


@dataclass(frozen=True)
class ScopeService:
    id: int
    slug: str
    name: str
    team: str
    done: bool
    team_id: int = 0
    team_slug: str = ""


@dataclass(frozen=True)
class CampaignView:
    campaign: Campaign
    progress: rules.Progress
    chart: charts.Chart
    overdue: list  # ScopeService not done, once the deadline has passed
    not_done: list  # ScopeService not done (the first ones), before the deadline
    remaining: list  # every ScopeService not done


def campaign_view(campaign, now, shown=100):
    """Everything the campaign page shows at `now`. Its services are its scope but the
    retired ones: they take no reviews, and have left."""
    scope = db.session.execute(
        select(Service.id, Service.slug, Service.name, Team.name, Team.id, Team.slug)
        .join(CampaignService, CampaignService.service_id == Service.id)
        .join(Team, Team.id == Service.team_id)
        .where(CampaignService.campaign_id == campaign.id, Service.state != "retired")
        .order_by(Team.name, Service.name, Service.id)).all()
    approvals = _approvals(campaign, [service_id for service_id, *_ in scope])
    pairs = [(service_id, team) for service_id, _, _, team, *_ in scope]
    found = rules.progress(pairs, approvals, campaign.min_version, now)
    start = campaign.created_at.date()
    days = rules.burn_up(pairs, approvals, campaign.min_version, start,
                         max(start, min(now.date(), campaign.deadline + timedelta(days=30))))
    chart = charts.bar_chart(
        "Burn-up: services done by day",
        f"Services of the campaign done at the end of each day, of {len(scope):,}.",
        [(f"{day:%d %b}", done) for day, done in days], unit="services", axis="Day")
    services = [ScopeService(i, slug, name, team,
                             rules.is_done(approvals.get(i, ()), campaign.min_version, now),
                             team_id, team_slug)
                for i, slug, name, team, team_id, team_slug in scope]
    left = [s for s in services if not s.done]
    is_over = now.date() > campaign.deadline
    return CampaignView(campaign, found, chart, left if is_over else [],
                        [] if is_over else left[:shown], left)


@dataclass(frozen=True)
class TeamCampaignService:
    campaign: Campaign
    slug: str
    name: str
    done: bool


def team_campaign_services(team_ids, now, limit):
    """The services of the teams `team_ids` not yet done in campaigns whose deadline is
    ahead or passed at most SHOWN_AFTER_DEADLINE ago (deadline soonest first), as a
    Worklist: what My work shows a team."""
    if not team_ids:
        return Worklist([], 0)
    rows = (select(Campaign, Service.id, Service.slug, Service.name)
            .join(CampaignService, CampaignService.campaign_id == Campaign.id)
            .join(Service, Service.id == CampaignService.service_id)
            .where(Service.team_id.in_(team_ids), Service.state != "retired",
                   Campaign.deadline >= now.date() - SHOWN_AFTER_DEADLINE)
            .order_by(Campaign.deadline, Campaign.id, Service.name))
    found = []
    by_campaign = {}
    for campaign, service_id, slug, name in db.session.execute(rows):
        by_campaign.setdefault(campaign.id, (campaign, []))[1].append((service_id, slug, name))
    for campaign, services in by_campaign.values():
        approvals = _approvals(campaign, [service_id for service_id, _, _ in services])
        for service_id, slug, name in services:
            if not rules.is_done(approvals.get(service_id, ()), campaign.min_version, now):
                found.append(TeamCampaignService(campaign, slug, name, False))
    return Worklist(found[:limit], len(found))
