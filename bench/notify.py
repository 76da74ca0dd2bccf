"""Time from a change's commit to its webhook, with `flask worker` running.

    python bench/notify.py [--changes 100] [--database-url sqlite:///...]

Makes a fresh database (the default: SQLite in a temporary folder; the app's
migrations), a receiver on a loopback port and one webhook subscription, starts one
worker process, then commits a change (a new team) at a time and waits for its
webhook. Prints p50, p95 and the largest of commit -> arrival (issue 15's target: p95
under 2 s).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def receiver():
    """(server, {webhook-id: arrival}) on a free loopback port."""
    arrived = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived.setdefault(self.headers["webhook-id"], time.monotonic())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrived


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="readiness-notify-")
    url = args.database_url or f"sqlite:///{folder}/notify.sqlite"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "WEBHOOK_ALLOW_PRIVATE": "1"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "worker", "--once"], cwd=ROOT, env=env, check=True,  # noqa: S603
                   capture_output=True)  # migrates the new database
    os.environ.update(env)
    from readiness import create_app
    from readiness.commands import accounts, notifications
    from readiness.database import writing
    from readiness.extensions import db

    server, arrived = receiver()
    app = create_app()
    worker = subprocess.Popen([*flask, "worker"], cwd=ROOT, env=env,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies = []
    try:
        with app.app_context(), writing():
            notifications.subscribe(None, kind="webhook", refusal=lambda _url: None,
                                    target=f"http://127.0.0.1:{server.server_address[1]}/")
            db.session.commit()
            time.sleep(1)  # the worker is up
            for i in range(args.changes):
                committed = time.monotonic()
                accounts.create_team(slug=f"team-{i}", name=f"Team {i}")
                db.session.commit()
                deadline = committed + 10
                while len(arrived) <= i:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"change {i} was not delivered within 10 s")
                    time.sleep(0.005)
                latencies.append(max(arrived.values()) - committed)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(0.95 * len(latencies)) - 1]
    print(f"{args.changes} changes, commit -> webhook: p50 {p50:.3f} s, p95 {p95:.3f} s, "
          f"max {latencies[-1]:.3f} s (target: p95 < 2 s)")
    return 0 if p95 < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
