"""One fact source collected from its Prometheus (commands.telemetry with the HTTP of
readiness.prometheus): for `flask facts collect` and the worker."""

from datetime import datetime

from . import prometheus
from .commands.telemetry import QueryFailed, collect
from .domain.telemetry import FactSource


def collect_source(source: FactSource, moment: datetime):
    """Query each of the source's facts at `moment` and store what they give; returns
    the FactOutcomes (the caller commits)."""
    with prometheus.client(source.timeout_seconds) as client:
        def ask(query):
            try:
                return prometheus.instant_query(client, source.url, query, moment)
            except prometheus.PrometheusError as exc:
                raise QueryFailed(str(exc)) from None

        return collect(source, ask)
