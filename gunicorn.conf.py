"""gunicorn's settings for readiness, read by `gunicorn app:app` from this folder.

The app answers every request itself, within these limits (docs/api.md, "Limits"):
- timeout: a worker silent this long is killed and gunicorn answers a bare 500. The
  app's longest wait is SQLite's busy timeout (SQLITE_BUSY_TIMEOUT_MS, 10 s; one
  wait a request at most: a page after a refused write only reads), after which
  it answers 503 with Retry-After itself.
- limit_request_line: gunicorn's own 414 has no CSP and no problem document, so its
  limit is set to its maximum and the app refuses long request lines first (MAX_URL in
  readiness/web/errors.py) with a page or a problem of its own.
"""

import os
import shutil
import tempfile

timeout = 30
graceful_timeout = 30
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


# readiness's counters (GET /metrics) in prometheus_client's multiprocess mode: each
# server start gets an empty folder that its workers write their counts to, and a
# scrape, whichever worker answers, adds them all up (readiness/metrics.py).
def on_starting(server):
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="readiness-metrics-")
        _made.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_exit(server):
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)


_made = []
