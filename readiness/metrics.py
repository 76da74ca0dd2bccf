"""readiness's own metrics in Prometheus' text format (GET /metrics; docs/telemetry.md).

Two kinds, each correct with several workers and several servers:
- Figures of the organisation (services by state, reviews, handback candidates,
  approvals expiring, notifications sent by outcome and waiting) are read from the
  database at each scrape
  (queries.metrics): every server answers the same, so any one may be scraped.
- Events counted as they happen (gate answers, facts stored) are counters of the
  processes that saw them. With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it
  for each server start), the workers of one server write them to files there and
  each scrape adds them up (prometheus_client's multiprocess mode); several servers
  are several scrape targets, summed in Prometheus (`sum(rate(…))`).
"""

import os

from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

GATE_ANSWERS = Counter("readiness_gate_answers", "Deploy gate answers given over the API, "
                       "by result.", ["result"])
FACTS_STORED = Counter("readiness_facts_stored", "Telemetry readings stored (the API and "
                       "facts collect), not counting those sent again.")
for _result in ("allowed", "refused"):
    GATE_ANSWERS.labels(_result)


class _Figures:
    """The database's figures (queries.metrics.Figures) as gauges."""

    def __init__(self, figures):
        self.figures = figures

    def collect(self):
        f = self.figures
        services = GaugeMetricFamily("readiness_services", "Services, by management state.",
                                     labels=["state"])
        for state, count in f.services.items():
            services.add_metric([state], count)
        reviews = GaugeMetricFamily("readiness_reviews", "Reviews, by stage and state.",
                                    labels=["stage", "state"])
        for (stage, state), count in f.reviews.items():
            reviews.add_metric([stage, state], count)
        yield services
        yield reviews
        yield GaugeMetricFamily("readiness_handback_candidates", "Ops-managed services "
                                "failing a required check of a current handback checklist.",
                                value=f.handback_candidates)
        expiring = GaugeMetricFamily("readiness_approvals_expiring", "Live services whose "
                                     "launch approval expires within 30 days, or has "
                                     "(expired=\"true\").", labels=["expired"])
        expiring.add_metric(["false"], f.approvals_expiring)
        expiring.add_metric(["true"], f.approvals_expired)
        yield expiring
        deliveries = CounterMetricFamily("readiness_deliveries", "Attempts at sending "
                                         "notifications, by outcome (delivered, retried, "
                                         "failed: the last try, cancelled: 410 Gone).",
                                         labels=["outcome"])
        for outcome, count in f.deliveries.items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        yield GaugeMetricFamily("readiness_delivery_backlog", "Notifications waiting to be "
                                "sent, or sent again.", value=f.delivery_backlog)


def exposition(figures) -> bytes:
    """The text a scrape gets: the counters (of every worker of this server, in
    multiprocess mode) and the database's `figures`."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(GATE_ANSWERS)
        registry.register(FACTS_STORED)
    registry.register(_Figures(figures))
    return generate_latest(registry)
