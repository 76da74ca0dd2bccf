"""Use cases for campaigns: start one (its scope taken from the filter), and take a new
service into the campaigns whose filter it matches. Rules: domain.campaigns."""

from sqlalchemy import func, insert, literal, select

from ..audit import AuditAction, record
from ..domain import checklists
from ..domain.campaigns import CampaignFilter
from ..extensions import db
from ..models import (
    Campaign,
    CampaignService,
    ChecklistVersion,
    Service,
    Team,
    UTCDateTime,
    utcnow,
)


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
    tiers = _tiers(campaign, found)
    if tiers is not None:
        matching = matching.where(Service.tier.in_(tiers))
    if found.teams:
        matching = matching.where(Team.slug.in_(found.teams))
    if found.states:
        matching = matching.where(Service.state.in_(found.states))
    db.session.execute(insert(CampaignService).from_select(
        ["campaign_id", "service_id", "joined_at"],
        matching.with_only_columns(literal(campaign.id), Service.id,
                                   literal(utcnow(), UTCDateTime),
                                   maintain_column_froms=True)))
    # Counted, not the driver's rowcount (psycopg gives none for INSERT … SELECT here).
    scope = db.session.scalar(select(func.count()).select_from(CampaignService).where(
        CampaignService.campaign_id == campaign.id))
    record(AuditAction.CAMPAIGN_CREATE, actor=actor, subject=campaign,
           title=campaign.title, checklist=campaign.checklist_id,
           min_version=campaign.min_version, tiers=campaign.tiers, teams=campaign.teams,
           states=campaign.states, deadline=campaign.deadline.isoformat(), services=scope)
    return campaign, scope


def open_campaigns():
    """The campaigns that still take new services (their deadline not passed), each as
    (campaign, its filter, the tiers it can take or None)."""
    found = []
    for campaign in db.session.scalars(select(Campaign).where(
            Campaign.deadline >= utcnow().date())):
        wanted = CampaignFilter(tuple(campaign.tiers), tuple(campaign.teams),
                                tuple(campaign.states))
        found.append((campaign, wanted, _tiers(campaign, wanted)))
    return found


def join_campaigns(service, campaigns=None):
    """Take a service created after campaigns started into those whose filter it matches
    (campaigns past their deadline take no one new; `campaigns`: open_campaigns(), when
    the caller read them once for many services). Returns their ids."""
    joined = []
    for campaign, found, tiers in open_campaigns() if campaigns is None else campaigns:
        if found.matches(tier=service.tier, team=service.team.slug, state=service.state) \
                and (tiers is None or service.tier in tiers):
            db.session.flush()  # the service's id
            db.session.add(CampaignService(campaign_id=campaign.id, service_id=service.id))
            joined.append(campaign.id)
    return joined


def _tiers(campaign, found):
    """The tiers a campaign can take: its filter's, within those its checklist applies to
    (`applies_to`, of its newest version: a service it does not apply to could never be
    done); None for any."""
    content = db.session.scalar(
        select(ChecklistVersion.content).where(
            ChecklistVersion.checklist_id == campaign.checklist_id)
        .order_by(ChecklistVersion.version.desc()).limit(1)) or {}
    applies = [tier for tier in (1, 2, 3) if checklists.applies(content, tier)]
    wanted = [tier for tier in applies if not found.tiers or tier in found.tiers]
    return None if len(wanted) == 3 else wanted
