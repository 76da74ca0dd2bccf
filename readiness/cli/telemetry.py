"""`flask facts collect`: telemetry from the fact sources' Prometheus servers
(docs/telemetry.md)."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app

from ..collector import collect_source
from ..domain.inputs import parse_rfc3339
from ..domain.telemetry import discover, load
from ..extensions import db
from ..metrics import FACTS_STORED

SHOWN = 10  # names listed a line before "and N more"


@click.command("collect")
@click.option("--config", "config", type=click.Path(dir_okay=False),
              help="One fact source file (default: every *.yaml of the telemetry/ folder "
                   "but *.example.yaml).")
@click.option("--at", "at", default=None, metavar="TIME",
              help="Evaluate the queries at this moment (RFC 3339, e.g. "
                   "2026-12-04T09:00:00Z; default: now, to the second).")
def collect_command(config, at):
    """Query each fact source's Prometheus once per fact (an instant query, never one
    per service) and store the readings for the services their label names.

    Readings are stored as the API stores them (the same checks; a reading already
    stored is not stored again) with one audit entry per source and run, source
    `prometheus`. Prints per fact the services updated, the series that name no
    service, and the values skipped (NaN, infinite). Exits 1 when a file has an error
    (`file:line: message`) or a query failed; what the others gave is still stored.
    """
    moment = _moment(at)
    if config is None:
        folder = current_app.config["TELEMETRY_DIR"]
        paths = discover([folder]) if Path(folder).is_dir() else []
        if not paths:
            click.echo(f"No fact source in {folder} (*.yaml; see docs/telemetry.md).",
                       err=True)
            sys.exit(1)
    else:
        paths = [config]
    sources, errors = load(paths)
    for error in errors:
        click.echo(str(error), err=True)
    failed = bool(errors)
    for source in sources:
        outcomes = collect_source(source, moment)
        db.session.commit()
        FACTS_STORED.inc(sum(outcome.updated for outcome in outcomes))
        for outcome in outcomes:
            failed = failed or outcome.error is not None
            click.echo(f"{source.path} {outcome.name}: {_said(outcome, source.service_label)}")
    if failed:
        sys.exit(1)


def _moment(text):
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    moment = parse_rfc3339(text)
    if moment is None:
        raise click.BadParameter(f"{text!r} is not an RFC 3339 date-time with a time zone "
                                 "(e.g. 2026-12-04T09:00:00Z)", param_hint="--at")
    return moment


def _said(outcome, label):
    if outcome.error:
        return f"query failed: {outcome.error}"
    parts = [f"{outcome.updated} service(s) updated, {outcome.unchanged} already stored"]
    for names, what in ((outcome.unknown, f"series whose '{label}' is no service"),
                        (outcome.not_finite, "skipped, not a finite number (NaN, Inf)"),
                        (outcome.out_of_range, "skipped, out of range"),
                        (outcome.ambiguous, f"skipped, several series for one '{label}'"),
                        (outcome.conflicts, "kept, stored before with another value"),
                        (outcome.refused, "refused")):
        if names:
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            parts.append(f"{len(names)} {what}: {', '.join(names[:SHOWN])}{more}")
    if outcome.unlabelled:
        parts.append(f"{outcome.unlabelled} series without the label '{label}'")
    return "; ".join(parts)
