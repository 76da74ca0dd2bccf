"""GET /metrics: readiness's own metrics for a Prometheus to scrape (readiness.metrics),
with an ops lead's or admin's API token, or the METRICS_TOKEN of the configuration."""

import hmac

from flask import Blueprint, Response, current_app

from .. import metrics
from ..domain import permissions
from ..models import utcnow
from ..problems import Problem, from_problem
from ..queries import metrics as figures
from ..queries import tokens
from .views import accept_token, note_token_use, presented_token

bp = Blueprint("metrics", __name__)
bp.after_request(note_token_use)


@bp.errorhandler(Problem)
def problem(error):
    return from_problem(error)


@bp.get("/metrics")
def scrape():
    presented = presented_token()
    configured = current_app.config.get("METRICS_TOKEN")
    if not (configured and hmac.compare_digest(presented.encode(), configured.encode())):
        row = tokens.find_token_with_roles(presented)
        accept_token(row)
        if not permissions.can_read_metrics(is_ops_lead=row.is_ops_lead,
                                            is_admin=row.is_admin):
            raise Problem(403, "Forbidden", "Metrics are for ops leads' and admins' tokens, "
                                            "or METRICS_TOKEN.")
    return Response(metrics.exposition(figures.figures(utcnow())),
                    content_type=metrics.CONTENT_TYPE)
