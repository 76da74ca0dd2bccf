"""`flask catalog import`: the service catalog's teams and services, from descriptor
files (docs/catalog.md)."""

import getpass
import socket
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .. import backstage
from ..commands.catalog import (
    ImportResult,
    import_catalog,
    keep_readings,
    kept_readings,
    record_run,
)
from ..domain.catalog import Catalog, CatalogError, Reading, discover, entity_ref, file_key
from ..extensions import db
from ..models import utcnow

catalog_group = AppGroup("catalog", help="The service catalog (Backstage).")
PROGRESS_FROM = 500  # components: fewer import before a bar would draw


@catalog_group.command("import")
@click.argument("sources", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--create-teams", is_flag=True,
              help="Add a team for an owner that is neither a group of the catalog nor a "
                   "team here (else that is an error).")
@click.option("--token", envvar="BACKSTAGE_TOKEN", default=None,
              help="Bearer token for a Backstage backend (default: $BACKSTAGE_TOKEN).")
def import_command(sources, dry_run, create_teams, token):
    """Bring the catalog's groups in as teams and its components of type service or
    website in as services.

    SOURCES are Backstage descriptor files (several YAML documents a file), folders of
    them (*.yaml, *.yml), or the base address of a Backstage backend (http:// or
    https://; its catalog API is read page by page, with --token). All or nothing: with
    any error (printed as `file:line: message`, or the entity's name for a backend,
    every one of them) nothing is stored and the exit status is 1. Importing
    an unchanged catalog again changes nothing; each change is audited. Management
    states are never changed and no service is deleted: those an import brought before
    and no longer finds are listed as missing.
    """
    started_at = utcnow()
    run_by = f"the command line ({getpass.getuser()}@{socket.gethostname()})"

    def keep(result):  # the run, for the admin page, in its own transaction
        record_run(result, sources=sources, run_by=run_by, dry_run=dry_run,
                   started_at=started_at)
        db.session.commit()

    catalog = Catalog()
    backends = [s for s in sources if s.startswith(("http://", "https://"))]
    files = [s for s in sources if s not in backends]
    for source in files:
        if not Path(source).exists():
            click.echo(f"{source}: no such file or folder", err=True)
            sys.exit(1)
    # A file read by an earlier import, unchanged, is not parsed again (its Reading).
    texts = {str(path): text for path in discover(files)
             if (text := catalog.read_file(path)) is not None}
    keys = {source: file_key(text) for source, text in texts.items()}
    known = kept_readings(set(keys.values()))
    readings = {}
    for source, text in texts.items():
        key = keys[source]
        earlier = Reading.from_json(known[key], source) if key in known else None
        reading = catalog.read_text(text, source, earlier)
        if reading is not None:
            readings[key] = reading
    for base in backends:
        try:
            for kind in ("group", "component"):
                for entity in backstage.entities(base, kind, token):
                    catalog.add_entity(entity, f"{base.rstrip('/')} {entity_ref(entity)}")
        except backstage.BackstageError as exc:
            click.echo(str(exc), err=True)
            where = base.rstrip("/")
            keep(ImportResult(errors=[CatalogError(where, None,
                                                   str(exc).removeprefix(f"{where}: "))]))
            sys.exit(1)
    if sys.stdout.isatty() and len(catalog.components) >= PROGRESS_FROM:
        with click.progressbar(length=len(catalog.components), label="Importing") as bar:
            result = import_catalog(catalog, create_teams=create_teams, progress=bar.update)
    else:
        result = import_catalog(catalog, create_teams=create_teams)
    if result.errors:
        db.session.rollback()
        keep(result)
        for error in result.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(result.errors)} error(s): nothing was imported.", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        keep_readings(readings, known)
    keep(result)  # with the import itself, in one commit
    verb = "Would add" if dry_run else "Added"
    for label, slugs in (("new", result.added), ("changed", result.updated)):
        if dry_run and slugs:
            click.echo(f"{label}: {', '.join(slugs)}")
    if result.missing:
        click.echo(f"no longer in the catalog (kept): {', '.join(result.missing)}")
    click.echo(f"{verb} {len(result.added)}, {'would update' if dry_run else 'updated'} "
               f"{len(result.updated)}, unchanged {result.unchanged}, skipped "
               f"{result.skipped}, missing {len(result.missing)}; teams: "
               f"{len(result.teams_added)} {'to add' if dry_run else 'added'}, "
               f"{len(result.teams_updated)} {'to update' if dry_run else 'updated'}."
               + (" Dry run: nothing was changed." if dry_run else ""))

