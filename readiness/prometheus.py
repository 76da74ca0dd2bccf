"""A Prometheus server's HTTP API, as `flask facts collect` reads it: one instant query
at a time (https://prometheus.io/docs/prometheus/latest/querying/api/).

Infrastructure: the network and nothing else; what an answer means is
domain.telemetry's."""

from datetime import datetime

import httpx


class PrometheusError(Exception):
    """A query that gave no answer: the server down, an HTTP error, or Prometheus' own
    `{"status": "error", "errorType": …, "error": …}`, said as Prometheus said it."""


def instant_query(client: httpx.Client, base_url: str, query: str, at: datetime):
    """The `data` of `POST {base_url}/api/v1/query` for `query` evaluated at `at` (a
    form body: queries can be longer than an address may be)."""
    url = f"{base_url}/api/v1/query"
    try:
        response = client.post(url, data={"query": query, "time": f"{at.timestamp():.3f}"})
    except httpx.TimeoutException:
        raise PrometheusError(f"{base_url}: no answer within {client.timeout.read:g} s") from None
    except httpx.HTTPError as exc:
        raise PrometheusError(f"{base_url}: cannot reach Prometheus ({exc})") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        raise PrometheusError(f"Prometheus refused the query: {body.get('errorType')}: "
                              f"{body.get('error')}")
    if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
        raise PrometheusError(f"{url}: HTTP {response.status_code}, not a Prometheus "
                              "query answer")
    return body["data"]


def client(timeout_seconds: float) -> httpx.Client:
    """An HTTP client for one run of collecting (its connections are reused)."""
    return httpx.Client(timeout=timeout_seconds, follow_redirects=False,
                        headers={"Accept": "application/json"})
