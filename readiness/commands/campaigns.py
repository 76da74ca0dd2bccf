"""Use cases for campaigns: start one (its scope taken from the filter), and take a new
service into the campaigns whose filter it matches. Rules: domain.campaigns."""

from sqlalchemy import insert, literal, select

from ..audit import AuditAction, record
from ..domain.campaigns import CampaignFilter
from ..extensions import db
from ..models import Campaign, CampaignService, Service, Team, UTCDateTime, utcnow


def create_campaign(campaign_input, *, actor):
    """Start a campaign (a domain.campaigns.CampaignInput): the services its filter
    matches now are its scope, in one INSERT … SELECT."""
    found = campaign_input.filter
    campaign = Campaign(title=campaign_input.title, description=campaign_input.description,
                        checklist_id=campaign_input.checklist_id,
                        min_version=campaign_input.min_version, tiers=list(found.tiers),
                        teams=list(found.teams), states=list(found.states),
                        deadline=campaign_input.deadline, created_by=actor)
    db.session.add(campaign)
    db.session.flush()
    matching = select(Service.id).join(Service.team)
    if found.tiers:
        matching = matching.where(Service.tier.in_(found.tiers))
    if found.teams:
        matching = matching.where(Team.slug.in_(found.teams))
    if found.states:
        matching = matching.where(Service.state.in_(found.states))
    scope = db.session.execute(insert(CampaignService).from_select(
        ["campaign_id", "service_id", "joined_at"],
        matching.with_only_columns(literal(campaign.id), Service.id,
                                   literal(utcnow(), UTCDateTime),
                                   maintain_column_froms=True))).rowcount
    record(AuditAction.CAMPAIGN_CREATE, actor=actor, subject=campaign,
           title=campaign.title, checklist=campaign.checklist_id,
           min_version=campaign.min_version, tiers=campaign.tiers, teams=campaign.teams,
           states=campaign.states, deadline=campaign.deadline.isoformat(), services=scope)
    return campaign, scope


def open_campaigns():
    """The campaigns that still take new services (their deadline not passed)."""
    return db.session.scalars(select(Campaign).where(
        Campaign.deadline >= utcnow().date())).all()


def join_campaigns(service, campaigns=None):
    """Take a service created after campaigns started into those whose filter it matches
    (campaigns past their deadline take no one new; `campaigns`: open_campaigns(), when
    the caller read them once for many services). Returns their ids."""
    joined = []
    for campaign in open_campaigns() if campaigns is None else campaigns:
        found = CampaignFilter(tuple(campaign.tiers), tuple(campaign.teams),
                               tuple(campaign.states))
        if found.matches(tier=service.tier, team=service.team.slug, state=service.state):
            db.session.flush()  # the service's id
            db.session.add(CampaignService(campaign_id=campaign.id, service_id=service.id))
            joined.append(campaign.id)
    return joined
