"""`flask --app app demo`: a small organisation to look around in."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from . import operations
from .audit import AuditAction, record
from .extensions import db
from .models import User


@click.command("demo")
@with_appcontext
def demo_command():
    """Fill an empty database with demo teams, users, services and checklists.

    Accounts (password `demo`): team@example.com, consultant@example.com,
    lead@example.com, admin@example.com. Does nothing if users already exist.
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
    people = [
        ("team@example.com", "Tess Team", (), ("payments",)),
        ("consultant@example.com", "Connor Consultant", ("consultant",), ()),
        ("lead@example.com", "Lee Lead", ("ops_lead",), ()),
        ("admin@example.com", "Ada Admin", ("admin",), ()),
        ("searcher@example.com", "Sam Search", (), ("search",)),
    ]
    for email, name, roles, teams in people:
        operations.create_user(email=email, name=name, password="demo",  # noqa: S106
                               roles=roles, team_slugs=teams, min_password_length=4)
    services = [
        ("checkout", "Checkout", payments, 1, "self_managed"),
        ("ledger", "Ledger", payments, 1, "ops_managed"),
        ("refunds", "Refunds", payments, 2, "development"),
        ("invoice-pdf", "Invoice PDF", payments, 3, "retired"),
        ("search-api", "Search API", search, 2, "ops_managed"),
        ("autocomplete", "Autocomplete", search, 3, "development"),
    ]
    for slug, name, team, tier, state in services:
        service = operations.create_service(
            slug=slug, name=name, team=team, tier=tier,
            repo_url=f"https://git.example.com/{team.slug}/{slug}",
        )
        # The lifecycle operations that move a service between states come with the
        # review issues; until then the demo places services directly.
        service.state = state
        record(AuditAction.SERVICE_UPDATE, actor=None, subject=service, state=state)
