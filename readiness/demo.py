"""`flask --app app demo`: a small organisation to look around in."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from . import operations, reviews
from .audit import AuditAction, record
from .extensions import db
from .models import User
from .operations.reviews import AnswerInput, current_versions

DEMO_PASSWORD = "demo"  # noqa: S105  (documented demo accounts)


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


def load_demo():
    operations.sync_checklists([current_app.config["CHECKLISTS_DIR"]])
    payments = operations.create_team(slug="payments", name="Payments")
    search = operations.create_team(slug="search", name="Search")
    people = {}
    for email, name, roles, teams in [
        ("team@example.com", "Tess Okafor", (), ("payments",)),
        ("consultant@example.com", "Connor Lindqvist", ("consultant",), ()),
        ("consultant2@example.com", "Priya Raman", ("consultant",), ()),
        ("lead@example.com", "Lee Navarro", ("ops_lead",), ()),
        ("admin@example.com", "Ada Brandt", ("admin",), ()),
        ("search@example.com", "Sam Achterberg", (), ("search",)),
    ]:
        people[email.split("@")[0]] = operations.create_user(
            email=email, name=name, password=DEMO_PASSWORD, roles=roles, team_slugs=teams,
            min_password_length=4)
    team, searcher = people["team"], people["search"]
    consultant = people["consultant"]
    versions = {v.checklist_id: v for v in current_versions()}
    launch, handoff = versions["launch-readiness"], versions["handoff-readiness"]

    services = {}
    for slug, name, owner, tier, description in [
        ("checkout", "Checkout", payments, 1, "Takes the basket to a paid order."),
        ("ledger", "Ledger", payments, 1, "Double-entry record of every payment."),
        ("refunds", "Refunds", payments, 2, "Sends money back when orders are returned."),
        ("invoice-pdf", "Invoice PDF", payments, 3, "Renders invoices; replaced by billing."),
        ("fraud-score", "Fraud score", payments, 2, "Scores each payment for fraud risk."),
        ("search-api", "Search API", search, 2, "Product search for the shop and the apps."),
        ("autocomplete", "Autocomplete", search, 3, "Suggestions while people type."),
    ]:
        services[slug] = operations.create_service(
            slug=slug, name=name, team=owner, tier=tier, actor=people["admin"],
            repo_url=f"https://git.example.com/{owner.slug}/{slug}",
            runbook_url=f"https://runbooks.example.com/{slug}", description=description)

    def review(slug, version, state, author, *, gaps=0):
        """A review of `slug` filled in by `author` and taken to `state`."""
        service = services[slug]
        r = operations.start_review(service, version, actor=author)
        db.session.flush()
        items = list(reviews.checklist_items(version.content))
        answers = {}
        for index, (_, item) in enumerate(items):
            if index >= len(items) - gaps:
                break
            link = (f"https://wiki.example.com/{slug}/{item['id']}"
                    if item.get("evidence") == "link" else None)
            answers[item["id"]] = AnswerInput(
                "met", f"{item['title']}: checked by the team, notes in the service wiki.",
                link)
        operations.save_answers(r, answers, actor=author)
        if state in ("submitted", "changes_requested", "approved"):
            operations.submit_review(r, actor=author)
        if state == "changes_requested":
            first = items[0][1]["id"]
            operations.decide_review(
                r, actor=consultant, verdict="request_changes",
                comment="Please show a full week of pager data, not one day.",
                item_comments={first: "Which dashboard shows this?"})
        if state == "approved":
            operations.decide_review(r, actor=consultant, verdict="approve",
                                     comment="Meets the requirements. Good to go.",
                                     item_comments={})
        if state == "withdrawn":
            operations.withdraw_review(r, actor=author)
        return r

    review("checkout", launch, "approved", team)
    review("ledger", launch, "approved", team)
    review("ledger", handoff, "approved", team)
    review("refunds", launch, "draft", team, gaps=5)
    review("fraud-score", launch, "changes_requested", team)
    review("invoice-pdf", launch, "approved", team)
    review("search-api", launch, "approved", searcher)
    review("search-api", handoff, "approved", searcher)
    review("autocomplete", launch, "withdrawn", searcher, gaps=10)
    review("autocomplete", launch, "submitted", searcher)

    # The lifecycle operations (launch, handoff, handback, retire) come with their own
    # issue; until then the demo places services in their states directly, on the record.
    for slug, state in [("checkout", "self_managed"), ("ledger", "ops_managed"),
                        ("invoice-pdf", "retired"), ("search-api", "ops_managed")]:
        services[slug].state = state
        record(AuditAction.SERVICE_UPDATE, actor=people["admin"], subject=services[slug],
               state=state)
