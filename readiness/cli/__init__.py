"""Flask commands: checklists validate|sync, teams, users, audit verify, gate, tokens,
facts refresh-latest|collect, demo."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit, commands
from ..commands import facts as fact_ops
from ..commands import tokens as token_ops
from ..commands.worklists import refresh_worklists
from ..config import ENVIRONMENT
from ..domain import checklists, lifecycle
from ..export import export_all
from ..extensions import db
from ..models import ROLES, User
from ..queries import lifecycle as situations
from ..queries.checklists import synced_versions
from .notifications import webhooks_group, worker_command
from .telemetry import collect_command


def register_commands(app):
    app.cli.add_command(checklists_group)
    app.cli.add_command(teams_group)
    app.cli.add_command(users_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(gate_command)
    app.cli.add_command(tokens_group)
    app.cli.add_command(facts_group)
    app.cli.add_command(worklists_group)
    app.cli.add_command(export_command)
    from .catalog import catalog_group

    app.cli.add_command(catalog_group)
    app.cli.add_command(webhooks_group)
    app.cli.add_command(worker_command)
    from .demo import demo_command

    app.cli.add_command(demo_command)


def _default_paths(paths):
    return paths or (current_app.config["CHECKLISTS_DIR"],)


def _discover_or_exit(paths):
    try:
        return checklists.discover(paths)
    except FileNotFoundError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


checklists_group = AppGroup("checklists", help="Validate checklist files and load them.")


@checklists_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def validate_command(paths):
    """Check checklist YAML files without changing anything.

    PATHS are files or folders (default: the checklists/ folder). Prints one
    `file:line: message` per error, also comparing each file with the version
    already synced (a version may not go down; changed content needs a new
    version). Exits 0 when every file is valid, 1 otherwise.
    """
    files = _discover_or_exit(_default_paths(paths))
    loaded = checklists.load_all(files, synced_versions())
    errors = [error for file in loaded for error in file.errors]
    for error in errors:
        click.echo(str(error))
    bad = sum(1 for file in loaded if file.errors)
    if errors:
        click.echo(f"{len(errors)} error(s) in {bad} of {len(loaded)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(loaded)} checklist file(s) valid.", err=True)


@checklists_group.command("sync")
@click.argument("paths", nargs=-1, type=click.Path())
def sync_command(paths):
    """Load valid checklist files into the database as new versions.

    PATHS are files or folders (default: the checklists/ folder). A file whose
    version is already stored with the same content is left alone; an invalid
    file is reported as `file:line: message` and never replaces the version
    already stored. Exits 1 if any file had an error.
    """
    files = _discover_or_exit(_default_paths(paths))
    result = commands.sync_checklists(files)
    db.session.commit()
    for version in result.added:
        click.echo(f"{version.checklist_id}: version {version.version} stored")
    for checklist_id in result.unchanged:
        click.echo(f"{checklist_id}: unchanged")
    for error in result.errors:
        click.echo(str(error))
    if result.errors:
        click.echo(f"{len(result.errors)} error(s); those files were not loaded.", err=True)
        sys.exit(1)


teams_group = AppGroup("teams", help="Manage feature teams.")


@teams_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The team's display name.")
def create_team_command(slug, name):
    """Add a feature team with the short id SLUG (lowercase letters, digits, '-')."""
    try:
        commands.create_team(slug=slug, name=name)
    except commands.InvalidInput as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Team {slug} created.")


users_group = AppGroup("users", help="Manage user accounts.")


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name, as shown in the app.")
@click.option("--password", help="The password; asked for (hidden) when not given.")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help=f"One of {', '.join(ROLES)}: a consultant decides reviews, an ops_lead "
                   "hands services over and back, an admin manages users and teams. "
                   "Repeat for several.")
@click.option("--team", "teams", multiple=True, metavar="SLUG",
              help="A team the user belongs to. Repeat for several.")
def create_user_command(email, name, password, roles, teams):
    """Add a user who signs in with EMAIL.

    Example: flask --app app users create ana@example.com --name "Ana Lima"
    --role consultant --team payments
    """
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        commands.create_user(email=email, name=name, password=password, roles=roles,
                               team_slugs=teams)
    except commands.InvalidInput as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"User {email.strip().lower()} created.")


audit_group = AppGroup("audit", help="Check the record of changes.")


def _kept_head(_ctx, _param, value):
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not (seq.isascii() and seq.isdigit() and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise click.BadParameter("SEQ:HASH as printed by `audit verify --head`, e.g. "
                                 "1234:" + "0" * 64)
    return audit.Head(int(seq), digest)


@audit_group.command("verify")
@click.option("--head", "show_head", is_flag=True,
              help="Also print the chain's head (SEQ:HASH) to keep elsewhere.")
@click.option("--expect-head", "kept_head", metavar="SEQ:HASH", callback=_kept_head,
              help="A head printed earlier: it must still be in the chain unchanged, so "
                   "entries removed from the end since then are found.")
def verify_command(show_head, kept_head):
    """Re-check the record: the audit chain, every sign-off's content hash, every
    management event and every stored fact against its entry.

    Prints each entry, review, event or batch of facts that does not match and exits 1
    if anything was altered behind the app's back; exits 0 when the record is intact.
    The chain cannot show that its newest entries were removed: keep the head that
    `--head` prints (in a ticket, a CI log) and pass it back with --expect-head.
    """
    problems = audit.verify(kept_head)
    for problem in problems:
        click.echo(str(problem))
    if show_head:
        newest = audit.head()
        click.echo(f"Head: {newest}" if newest else "Head: none (the record is empty)")
    if problems:
        click.echo(f"{len(problems)} problem(s): the record was altered.", err=True)
        sys.exit(1)
    click.echo("The audit chain, all sign-offs, management events and facts are intact.")


@click.command("gate")
@click.argument("service")
@click.option("--environment", default="production", show_default=True,
              help="The environment asked about: enforce or advisory (GATE_ENVIRONMENTS).")
def gate_command(service, environment):
    """Say whether SERVICE (its slug) may take traffic in ENVIRONMENT, and why.

    Yes while it is self-managed or Ops-managed and its latest approved launch
    review is still valid; no while it is in development or retired, when
    that approval has expired, or when a waiver it leans on has expired. An
    active break-glass override lets it through; in an advisory environment a
    refusal is reported and passes. Lists the waivers the approval leans on.
    Answers as GET /api/v1/services/SLUG/gate does: exits 0 when that answers
    200, 1 when it answers 409, 2 when there is no such service.
    """
    if not ENVIRONMENT.fullmatch(environment):
        raise click.BadParameter("a name like production or staging (lowercase letters, "
                                 "digits and dashes)", param_hint="--environment")
    found = situations.gate(service)
    if found is None:
        click.echo(f"{service}: no such service", err=True)
        sys.exit(2)
    body, passes = situations.gate_body(found, environment)
    state = lifecycle.STATE_LABELS[found.state].lower()
    if body["override"]:
        override = body["override"]
        click.echo(f"{service}: allowed by a break-glass override ({state}) from "
                   f"{override['by']} until {override['expires_at']}: {override['reason']}")
    elif found.decision.allowed:
        click.echo(f"{service}: allowed ({state})")
    else:
        click.echo(f"{service}: refused ({state}){' (advisory)' if body['advisory'] else ''}")
    for reason in body["reasons"]:
        click.echo(f"  - {reason}")
    for waiver in body["waivers"]:
        click.echo(f"  waiver: {waiver['item']} ({waiver['title']}) until "
                   f"{waiver['expires_on']}")
    if not passes:
        sys.exit(1)


tokens_group = AppGroup("tokens", help="Manage API tokens.")


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True,
              help="What the token is for, e.g. 'deploy pipeline'.")
def create_token_command(email, name):
    """Make an API token for the user with EMAIL and print it once.

    The token acts as that user: a team member's token may push facts for its
    teams' services, an ops lead's or admin's for all; any token may read.
    Only a digest is stored: copy the token now. Revoke it on the profile page.
    """
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with the email {email}")
    if user.is_disabled:
        raise click.ClickException(f"{email} is disabled")
    try:
        _, token = token_ops.create_token(user, name=name, actor=None)
    except commands.InvalidInput as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(token)
    click.echo(f"Token for {user.email} ({name}). It is shown only now.", err=True)


facts_group = AppGroup("facts", help="Telemetry facts.")
facts_group.add_command(collect_command)


@facts_group.command("refresh-latest")
def refresh_latest_command():
    """Bring each service's latest readings up to date with all stored facts.

    Pages, the gate and the checks read a table of each fact's latest reading, which
    the app keeps as facts arrive. Run this once after a rolling upgrade to a version
    with that table (migration 0006), when all servers run it: readings stored
    meanwhile by servers of the older version are then counted. Safe to run any time.
    """
    moved = fact_ops.refresh_latest_facts()
    db.session.commit()
    click.echo(f"{moved} latest reading(s) added or updated.")


worklists_group = AppGroup("worklists", help="The ops lead's worklists.")


@worklists_group.command("refresh")
def refresh_worklists_command():
    """Recompute the moments the worklists read for every service.

    Each service keeps from when it fails its handback checks and until when its launch
    or handoff may be made on its approval; the app keeps both as it writes. Run this
    after changing facts, reviews or events in the database by hand (the benchmark does,
    after deleting its facts). Safe to run any time; it changes only what differs.
    """
    changed = refresh_worklists()
    db.session.commit()
    click.echo(f"{changed} service(s) updated.")


@click.command("export")
@click.argument("path", type=click.Path(file_okay=False))
def export_command(path):
    """Write everything the database holds into the folder PATH as JSON Lines, one file
    per table (teams, users, services, checklist versions, reviews, answers,
    decisions, events, facts, the audit record …).

    Password hashes, session nonces and API token digests are left out, and so is the
    sign-in throttle's table of addresses. PATH must be new or empty.
    """
    try:
        written = export_all(path)
    except FileExistsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for table, rows in written.items():
        click.echo(f"{table}: {rows:,} row(s)")
    click.echo(f"Exported {len(written)} tables to {path}.", err=True)
