"""Use case for the service catalog: bring its groups and components in as teams and
services (domain.catalog maps them; docs/catalog.md).

All or nothing: with any error nothing is written. Idempotent: what is already as the
catalog says is left alone and audited nowhere; each change is one `service:update`
(or `team:update`) entry with `"source": "catalog"`. An import never changes a
management state and never deletes: services it brought before and no longer finds
are reported as missing.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..audit import AuditAction, record
from ..domain.catalog import Catalog, CatalogError, Reading
from ..extensions import db
from ..fact_table import upsert
from ..models import CatalogFileReading, CatalogImport, Service, Team, utcnow
from .accounts import create_team
from .campaigns import join_campaigns, open_campaigns
from .worklists import refresh_worklists

SOURCE = "catalog"
# A file's kept Reading is dropped after this long unused (another catalog, a file
# changed or gone).
READINGS_KEPT_FOR = timedelta(days=30)
# The service fields an import keeps as the catalog says.
FIELDS = ("name", "tier", "description", "repo_url", "runbook_url", "dashboard_url")
CHUNK = 500  # slugs per IN list


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)
    teams_added: list[str] = field(default_factory=list)
    teams_updated: list[str] = field(default_factory=list)
    errors: list[CatalogError] = field(default_factory=list)


def import_catalog(catalog: Catalog, *, actor=None, create_teams=False, progress=None):
    """Write `catalog` (read by domain.catalog) as teams and services; the caller commits,
    or rolls back for a dry run. `progress(n)` is called as components are done.

    Returns an ImportResult; when its `errors` are not empty nothing was written.
    """
    result = ImportResult(skipped=catalog.skipped, errors=sorted(catalog.errors))
    teams = {team.slug: team for team in db.session.scalars(
        select(Team).where(Team.slug.in_(
            {*catalog.groups, *(c.owner for c in catalog.components.values())})))}
    unknown = {}
    for component in catalog.components.values():
        if component.owner not in teams and component.owner not in catalog.groups:
            if create_teams:
                unknown.setdefault(component.owner, component)
            else:
                result.errors.append(CatalogError(
                    component.source, component.line,
                    f"owner '{component.owner}' is neither a group of the catalog nor a "
                    "team here (--create-teams adds it)"))
    if result.errors:
        result.errors.sort()
        return result

    for group in catalog.groups.values():
        team = teams.get(group.slug)
        if team is None:
            teams[group.slug] = create_team(slug=group.slug, name=group.name, actor=actor,
                                            source=SOURCE)
            result.teams_added.append(group.slug)
        elif team.name != group.name:
            record(AuditAction.TEAM_UPDATE, actor=actor, subject=team, source=SOURCE,
                   name={"old": team.name, "new": group.name})
            team.name = group.name
            result.teams_updated.append(group.slug)
    for slug in unknown:  # owners named only by a component: the slug is all we know
        teams[slug] = create_team(slug=slug, name=slug, actor=actor, source=SOURCE)
        result.teams_added.append(slug)

    components = list(catalog.components.values())
    campaigns = open_campaigns()  # new services join those whose filter they match
    for start in range(0, len(components), CHUNK):
        chunk = components[start:start + CHUNK]
        existing = {service.slug: service for service in db.session.scalars(
            select(Service).where(Service.slug.in_([c.slug for c in chunk])))}
        for component in chunk:
            service = existing.get(component.slug)
            if service is None:
                _add(component, teams[component.owner], actor, campaigns)
                result.added.append(component.slug)
            elif _update(service, component, teams[component.owner], actor):
                result.updated.append(component.slug)
            else:
                result.unchanged += 1
        if progress:
            progress(len(chunk))
    result.missing = sorted(set(db.session.scalars(
        select(Service.slug).where(Service.from_catalog, Service.state != "retired")))
        - set(catalog.components))
    return result


def _values(component):
    return {name: getattr(component, name) for name in FIELDS}


def _add(component, team, actor, campaigns):
    values = _values(component)
    service = Service(slug=component.slug, team=team, from_catalog=True,
                      catalog_lifecycle=component.lifecycle, **values)
    db.session.add(service)
    record(AuditAction.SERVICE_CREATE, actor=actor, subject=service, source=SOURCE,
           slug=component.slug, team=team.slug, lifecycle=component.lifecycle, **values)
    join_campaigns(service, campaigns)


def _update(service, component, team, actor):
    """Make `service` what `component` says; True when something changed (audited)."""
    changes = {name: {"old": getattr(service, name), "new": new}
               for name, new in _values(component).items() if getattr(service, name) != new}
    if service.team_id != team.id:
        changes["team"] = {"old": service.team.slug, "new": team.slug}
    if service.catalog_lifecycle != component.lifecycle:
        changes["lifecycle"] = {"old": service.catalog_lifecycle, "new": component.lifecycle}
    if not service.from_catalog:
        changes["from_catalog"] = {"old": False, "new": True}
    if not changes:
        return False
    for name in FIELDS:
        setattr(service, name, getattr(component, name))
    service.team, service.catalog_lifecycle = team, component.lifecycle
    service.from_catalog = True
    record(AuditAction.SERVICE_UPDATE, actor=actor, subject=service, source=SOURCE,
           **changes)
    if "tier" in changes:
        refresh_worklists([service.id])  # a more critical tier asks for a re-review
    return True


MAX_KEPT_ERRORS = 100  # of a refused run, kept for the admin page


def record_run(result, *, sources, run_by, dry_run, started_at):
    """Keep one run of the import (whatever came of it) for the admin page. `sources`
    are paths and backend addresses as given (tokens never pass through here)."""
    outcome = "refused" if result.errors else "dry run" if dry_run else "imported"
    run = CatalogImport(
        started_at=started_at, run_by=run_by, sources=list(sources), outcome=outcome,
        counts={"added": len(result.added), "updated": len(result.updated),
                "unchanged": result.unchanged, "skipped": result.skipped,
                "missing": len(result.missing), "teams_added": len(result.teams_added),
                "teams_updated": len(result.teams_updated)},
        error_count=len(result.errors),
        errors=[str(error) for error in result.errors[:MAX_KEPT_ERRORS]])
    db.session.add(run)
    return run


def kept_readings(keys):
    """{key: the JSON of a Reading} kept by earlier imports, of those `keys`
    (domain.catalog.file_key)."""
    keys, found = list(keys), {}
    for start in range(0, len(keys), CHUNK):
        found.update(db.session.execute(
            select(CatalogFileReading.key, CatalogFileReading.reading)
            .where(CatalogFileReading.key.in_(keys[start:start + CHUNK]))).all())
    return found


def keep_readings(readings: dict[str, Reading], known):
    """After an import: keep the Readings of its files (by key) for the next one; those
    already kept (`known` keys) are only marked used; those unused for
    READINGS_KEPT_FOR are dropped. Not audited: a cache of the files, not a record."""
    now, table = utcnow(), CatalogFileReading
    used = [key for key in readings if key in known]
    for start in range(0, len(used), CHUNK):
        db.session.execute(update(table).where(table.key.in_(used[start:start + CHUNK]))
                           .values(last_used_at=now))
    db.session.execute(delete(table).where(table.last_used_at < now - READINGS_KEPT_FOR))
    new = [{"key": key, "reading": reading.to_json(), "last_used_at": now}
           for key, reading in readings.items() if key not in known]
    if new:  # another import running at once may have kept the same file: keep one
        db.session.execute(upsert(table.__table__, db.session).on_conflict_do_nothing(), new)
