"""`flask --app app demo`: a small organisation to look around in."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .. import commands
from ..commands import lifecycle as support
from ..commands import pager, waivers
from ..commands.campaigns import create_campaign
from ..commands.facts import record_facts
from ..commands.reviews import AnswerInput, confirm_answers
from ..domain import checklists, reviews
from ..domain.campaigns import CampaignFilter, CampaignInput
from ..domain.facts import FactInput
from ..domain.pager import TrialInput
from ..extensions import db
from ..models import User, clock_at, utcnow
from ..queries.checklists import current_versions

# The documented password of the demo accounts (they exist only after `demo`).
DEMO_PASSWORD = "demo"  # noqa: S105  # nosec B105


@click.command("demo")
@with_appcontext
def demo_command():
    """Fill an empty database with demo teams, users, services, reviews and checklists.

    Accounts (password `demo`): team@example.com (Payments team),
    consultant@example.com, lead@example.com (ops lead), admin@example.com.
    Does nothing if the database already has users.
    """
    if db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has users; demo data not added.")
        return
    load_demo()
    db.session.commit()
    click.echo("Demo data added. Sign in as team@, consultant@, lead@ or admin@example.com "
               "with the password 'demo'.")


def load_demo(now=None):
    """A year in the life of two teams, told in time order so the record reads true."""
    now = now or utcnow()

    def at(days_ago, hours=0):
        return clock_at(now - timedelta(days=days_ago, hours=hours))

    with at(400):
        commands.sync_checklists([current_app.config["CHECKLISTS_DIR"]])
        payments = commands.create_team(slug="payments", name="Payments")
        search = commands.create_team(slug="search", name="Search")
        people = {}
        for email, name, roles, teams in [
            ("team@example.com", "Tess Okafor", (), ("payments",)),
            ("consultant@example.com", "Connor Lindqvist", ("consultant",), ()),
            ("consultant2@example.com", "Priya Raman", ("consultant",), ()),
            ("lead@example.com", "Lee Navarro", ("ops_lead",), ()),
            ("admin@example.com", "Ada Brandt", ("admin",), ()),
            ("search@example.com", "Sam Achterberg", (), ("search",)),
        ]:
            people[email.split("@")[0]] = commands.create_user(
                email=email, name=name, password=DEMO_PASSWORD, roles=roles,
                team_slugs=teams, min_password_length=4)
        services = {}
        for slug, name, owner, tier, description in SERVICES:
            services[slug] = commands.create_service(
                slug=slug, name=name, team=payments if owner == "payments" else search,
                tier=tier, actor=people["admin"], description=description,
                repo_url=f"https://git.example.com/{owner}/{slug}",
                runbook_url=f"https://runbooks.example.com/{slug}")
    team, searcher, lead = people["team"], people["search"], people["lead"]
    consultants = [people["consultant"], people["consultant2"]]
    versions = {v.checklist_id: v for v in current_versions(reviews.REVIEWED_STAGES)}
    launch, handoff = versions["launch-readiness"], versions["handoff-readiness"]

    def review(slug, version, state, author, started, *, took=6, gaps=0, decider=0,
               keep_carried=False, waive=None):
        """A review of `slug` started `started` days ago and taken to `state`."""
        with at(started):
            r = commands.start_review(services[slug], version, actor=author)
            db.session.flush()
            items = list(checklists.items_of(version.content))
            answers = {}
            for index, (_, item) in enumerate(items):
                if index >= len(items) - gaps:
                    break
                link = (f"https://wiki.example.com/{slug}/{item['id']}"
                        if item.get("evidence") == "link" else None)
                answers[item["id"]] = AnswerInput(
                    "met", f"{item['title']}: checked by the team; notes in the service wiki.",
                    link)
            for item_id in waive or {}:  # not met yet: a waiver carries it for a while
                answers[item_id] = AnswerInput("not_met", WAIVED[item_id][0], None)
            commands.save_answers(r, answers, actor=author)
            if r.previous_review_id and not keep_carried:  # a re-review: the team confirms
                confirm_answers(r, list(answers), actor=author)
            for item_id, until in (waive or {}).items():
                reason, control = WAIVED[item_id]
                waiver = waivers.request_waiver(
                    r, actor=author, item_id=item_id, reason=reason, control=control,
                    expires_on=(now + timedelta(days=until)).date().isoformat())
                waivers.decide_waiver(waiver, actor=consultants[1 - decider], verdict="grant",
                                      comment="Granted: the control covers the gap meanwhile.")
        if state in ("submitted", "changes_requested", "approved"):
            # Monitoring reported healthy numbers the day before: the checks pass.
            push_facts(services[slug], slug, now, started + 1, 1, pages=1, toil=10,
                       slo=99.95)
            with at(started, hours=-3):
                commands.submit_review(r, actor=author)
        if state == "changes_requested":
            with at(started - 1):
                commands.decide_review(
                    r, actor=consultants[decider], verdict="request_changes",
                    comment="Please show a full week of pager data, not one day.",
                    item_comments={items[0][1]["id"]: "Which dashboard shows this?"})
        if state == "approved":
            with at(started - took):
                commands.decide_review(r, actor=consultants[decider], verdict="approve",
                                         comment="Meets the requirements. Good to go.",
                                         item_comments={})
        if state == "withdrawn":
            with at(started - 1):
                commands.withdraw_review(r, actor=author)
        return r

    def trial(slug, started, ended, outcome, *, pages, actionable, notes=""):
        """A pager trial of `slug` from `started` to `ended` days ago, recorded then."""
        with at(ended, hours=-2):
            pager.record_trial(services[slug], TrialInput(
                (now - timedelta(days=started)).date(), (now - timedelta(days=ended)).date(),
                "Lee Navarro", pages, actionable, outcome, notes), actor=lead)

    def move(slug, kind, days_ago, reason="", **details):
        with at(days_ago):
            support.transition(services[slug], kind, actor=lead, reason=reason, **details)

    review("invoice-pdf", launch, "approved", team, 390, took=9)
    move("invoice-pdf", "launch", 380)
    with at(395):  # Ops' capacity, as an ops lead set it (engineer-hours a week)
        pager.set_capacity(32.0, actor=lead)
    review("ledger", launch, "approved", team, 400, took=5)
    move("ledger", "launch", 394)
    review("search-api", launch, "approved", searcher, 398, took=12, decider=1)
    move("search-api", "launch", 385)
    review("ledger", handoff, "approved", team, 225, took=8, decider=1)
    trial("ledger", 228, 221, "passed", pages=4, actionable=4)
    move("ledger", "handoff", 212, "Self-managed for half a year, quiet pager; Ops accepts it.",
         ops_hours_estimate=10.0)
    review("checkout", launch, "approved", team, 355, took=4)
    move("checkout", "launch", 349, "Black-friday ready.")
    push_facts(services["ledger"], "ledger", now, 230, 8, pages=9, toil=62, slo=99.1)
    move("ledger", "handback", 185,
         "Pager load tripled after the batch rewrite: **9 pages a week** for a month, "
         "and Ops spends most of its time on manual reconciliations.",
         return_conditions="Two quiet months: at most 2 pages a week, reconciliation "
                           "automated, then a new handoff review.",
         return_items=["pager-load", "runbooks-tested"],
         target_date=(now - timedelta(days=120)).date())
    review("search-api", handoff, "approved", searcher, 200, took=10)
    trial("search-api", 200, 193, "passed", pages=6, actionable=5)
    move("search-api", "handoff", 188, "Accepted after the capacity work.",
         ops_hours_estimate=12.0)
    # The yearly launch re-reviews of the two oldest live services.
    review("ledger", launch, "approved", team, 110, took=4)
    review("search-api", launch, "approved", searcher, 100, took=5, decider=1)
    with at(60):
        pager.set_capacity(30.0, actor=lead)
    review("fraud-score", launch, "changes_requested", team, 20)
    refunds = review("refunds", launch, "draft", team, 12, gaps=5)
    # On the draft: a waiver refused, and one waiting for a consultant (My work).
    with at(11):
        refused = waivers.request_waiver(
            refunds, actor=team, item_id="sev2-triaged", reason="Triage is behind after the "
            "migration.", control="Severity-2 defects are read out at the weekly sync.",
            expires_on=(now + timedelta(days=40)).date().isoformat())
    with at(10):
        waivers.decide_waiver(refused, actor=consultants[0], verdict="refuse",
                              comment="Not for a service that moves money: triage the open "
                                      "severity-2 defects first, it is a day's work.")
        waivers.request_waiver(
            refunds, actor=team, item_id="service-dashboard", reason="The dashboard waits "
            "for the metrics migration, due in three weeks.",
            control="The shared payments dashboard shows refunds' error rate and latency.",
            expires_on=(now + timedelta(days=30)).date().isoformat())
    review("autocomplete", launch, "withdrawn", searcher, 60, gaps=10)
    review("autocomplete", launch, "submitted", searcher, 3)
    # Waiting for an ops lead (their My work): a launch approved, not yet live, and a
    # handoff approved, not yet accepted.
    review("payouts", launch, "approved", team, 9, took=3, waive={"load-tested": 20})
    review("checkout", handoff, "approved", team, 8, took=4, decider=1)
    trial("checkout", 12, 5, "passed", pages=2, actionable=2)  # ready for Ops to take
    push_facts(services["search-api"], "search-api", now, 70, 6, pages=12, toil=55, slo=99.2)
    move("search-api", "handback", 40,
         "**Twelve pages a week** since the index migration, and objectives missed "
         "three weeks running. The on-call rota for search has two people left, the "
         "paging policy was widened twice, and the capacity work is not finished.",
         return_conditions="Finish the index migration; a month at or under 3 pages a "
                           "week; objectives met for four weeks.",
         return_items=["pager-load", "slo-attainment"],
         target_date=(now + timedelta(days=50)).date())
    move("invoice-pdf", "retire", 60, "Replaced by the billing platform's own invoices.")
    review("ledger", handoff, "approved", team, 14, took=4)
    trial("ledger", 20, 13, "passed", pages=3, actionable=3)
    move("ledger", "handoff", 4, "Reconciliation automated; self-managed for six months.",
         ops_hours_estimate=14.0)
    push_facts(services["ledger"], "ledger", now, 52, 8, pages=7, toil=35, slo=99.4)
    push_facts(services["search-api"], "search-api", now, 30, 5, pages=4, toil=20, slo=99.7)
    push_facts(services["checkout"], "checkout", now, 51, 8, pages=1, toil=10, slo=99.95)
    # Waivers: a launch that leaned on one which has since expired (its gate refuses),
    # and a low-risk launch of a tier-3 service with one still in force.
    review("notify", launch, "approved", team, 100, took=4, waive={"load-tested": -20})
    move("notify", "launch", 95, "Launched with the load test waived for the holidays.")
    trial("notify", 20, 13, "failed", pages=23, actionable=6,
          notes="Most pages were a noisy disk alert; tune it and try again.")
    with at(10):  # a past break-glass override: the gate let a hotfix through
        pager.grant_override(services["notify"], actor=lead, reason="Hotfix for the "
                             "order-email outage while the waiver question is settled.",
                             expires_at=now - timedelta(days=10) + timedelta(hours=6),
                             now=now - timedelta(days=10))
    review("status-page", versions["launch-low-risk"], "approved", searcher, 40, took=3,
           decider=1, waive={"rollback": 45})
    move("status-page", "launch", 36, "A low-risk launch: static pages behind the CDN.")
    # A yearly re-review in progress: the answers carried from last year's approval, two
    # confirmed so far.
    rereview = review("checkout", launch, "draft", team, 2, keep_carried=True)
    with at(1):
        confirm_answers(rereview, [a.item_id for a in rereview.answers][:2], actor=team)
    # A campaign: every live service ready for Ops by a deadline (half done so far).
    with at(20):
        create_campaign(CampaignInput(
            "Every live service ready for Ops",
            "Before the on-call reorganisation, every live service passes the **Hand-Off "
            "Readiness Review**, so that Ops can take any of them when asked.",
            "handoff-readiness", 1, (now + timedelta(days=25)).date(),
            CampaignFilter(states=("self_managed", "ops_managed"))), actor=lead)


SERVICES = [
    ("checkout", "Checkout", "payments", 1, "Takes the basket to a **paid order**."),
    ("ledger", "Ledger", "payments", 1, "Double-entry record of every payment."),
    ("refunds", "Refunds", "payments", 2, "Sends money back when orders are returned."),
    ("invoice-pdf", "Invoice PDF", "payments", 3, "Rendered invoices; replaced by billing."),
    ("fraud-score", "Fraud score", "payments", 2, "Scores each payment for fraud risk."),
    ("payouts", "Payouts", "payments", 2, "Pays sellers their share of each sale."),
    ("search-api", "Search API", "search", 2, "Product search for the shop and the apps."),
    ("autocomplete", "Autocomplete", "search", 3, "Suggestions while people type."),
    ("notify", "Notifications", "payments", 2, "Order and payment emails to customers."),
    ("status-page", "Status page", "search", 3, "The public status page, static pages."),
]
# Why a demo item is waived, and what limits the risk meanwhile.
WAIVED = {
    "load-tested": ("The load-test rig is booked until the new year; the launch traffic is "
                    "a tenth of what it was sized for.",
                    "Traffic is capped at **200 requests a second** at the gateway and the "
                    "team watches the latency dashboard daily."),
    "rollback": ("The CDN's instant rollback needs a plan upgrade that is being bought.",
                 "The previous build stays published under `/previous/`; switching back is "
                 "a one-line DNS change in the runbook."),
}


def push_facts(service, slug, now, days_ago, weeks, *, pages, toil, slo):
    """Weekly telemetry from `days_ago` on, drifting a little week to week."""
    for week in range(weeks):
        observed = now - timedelta(days=days_ago - 7 * week)
        wobble = (week % 3) - 1
        readings = {
            "pages_per_week": max(0, pages + wobble), "ops_toil_pct": toil + 2 * wobble,
            "slo_attainment_pct": round(slo - 0.05 * wobble, 2), "open_sev1_defects": 0,
            "change_failure_rate_pct": 8 + wobble, "monitoring_coverage_pct": 92,
            "deploy_success_rate_pct": 98,
        }
        with clock_at(observed):
            record_facts(service, [FactInput(name, float(value), observed, "monitoring")
                                   for name, value in readings.items()], actor=None)
