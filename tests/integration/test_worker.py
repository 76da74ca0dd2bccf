"""`flask worker` as a real process: killed with SIGKILL in the middle of a batch and
started again, nothing is lost; two at once send each delivery exactly once; and the
time from a change's commit to its delivery."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from readiness.commands import notifications as ops
from readiness.database import writing
from readiness.extensions import db
from readiness.models import Delivery

from ..factories import make_team

pytestmark = pytest.mark.slow  # left out of the quick run (README)

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """Counts each webhook-id it is sent; answers after `delay` seconds."""

    def __init__(self, delay=0.0):
        self.ids, self.lock = Counter(), threading.Lock()
        self.arrived = {}  # webhook-id -> monotonic time of its first arrival
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                with receiver.lock:
                    receiver.ids[self.headers["webhook-id"]] += 1
                    receiver.arrived.setdefault(self.headers["webhook-id"], time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def worker(database_uri, *args):
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "worker-test",
           "WEBHOOK_ALLOW_PRIVATE": "1", "WORKER_LEASE_SECONDS": "2"}
    command = [Path(sys.executable).with_name("flask"), "--app", "app", "worker", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.fixture
def database(make_app, database_uri):
    """The test's database made by the app's migrations (as the worker will find it),
    with an app on it."""
    first = worker(database_uri, "--once")
    assert first.wait(timeout=120) == 0, first.stdout.read().decode()
    first.stdout.close()
    with make_app(create_tables=False).app_context():
        yield database_uri
        db.session.remove()


def subscribe(url, events=("team.created",)):
    subscription, _ = ops.subscribe(None, kind="webhook", target=url, event_types=events,
                                    refusal=lambda _url: None)
    db.session.commit()
    return subscription


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _states():
    states = set(db.session.scalars(select(Delivery.state)))
    db.session.rollback()  # the next look sees the worker's commits
    return states


def stop(process):
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
    process.stdout.close()


def test_a_worker_killed_mid_batch_loses_nothing(database):
    receiver = Receiver(delay=0.02)
    try:
        subscribe(receiver.url)
        for i in range(100):
            make_team(slug=f"team-{i:03d}")
        db.session.commit()
        first = worker(database)
        wait_for(lambda: len(receiver.ids) >= 30, 60, "the first worker sent 30 in 60 s")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        first.stdout.close()
        sent_before = len(receiver.ids)
        assert sent_before < 100  # killed in the middle
        second = worker(database)
        try:
            wait_for(lambda: len(receiver.ids) == 100, 90, "all 100 delivered in 90 s")
            # The last answer arrives before the worker notes it: wait for that too.
            wait_for(lambda: _states() == {"delivered"}, 30, "all noted delivered in 30 s")
        finally:
            stop(second)
        db.session.expire_all()
        ids = set(db.session.scalars(select(Delivery.message_id)))
        assert set(receiver.ids) == ids and len(ids) == 100
        assert set(db.session.scalars(select(Delivery.state))) == {"delivered"}
        assert max(receiver.ids.values()) <= 2  # at most the one in flight went twice
    finally:
        receiver.close()


def test_two_workers_send_each_delivery_exactly_once(database):
    receiver = Receiver()
    try:
        for _ in range(10):
            subscribe(receiver.url)
        for i in range(50):
            make_team(slug=f"team-{i:03d}")
        db.session.commit()
        workers = [worker(database), worker(database)]
        try:
            wait_for(lambda: len(receiver.ids) == 500, 120, "500 delivered in 120 s")
            time.sleep(1)  # anything sent twice would arrive by now
        finally:
            for w in workers:
                stop(w)
        assert sum(receiver.ids.values()) == 500 and set(receiver.ids.values()) == {1}
    finally:
        receiver.close()


def test_a_change_reaches_its_webhook_within_two_seconds(database):
    """p95 of commit -> arrival, with one worker running (bench/README.md)."""
    receiver = Receiver()
    running = worker(database)
    try:
        subscribe(receiver.url)
        latencies = []
        for i in range(40):
            committed = time.monotonic()
            with writing():  # beside the worker, as a write request would
                make_team(slug=f"late-{i:03d}")
                db.session.commit()
            wait_for(lambda n=i: len(receiver.ids) == n + 1, 10, "delivered in 10 s")
            latencies.append(max(receiver.arrived.values()) - committed)
        latencies.sort()
        p95 = latencies[int(0.95 * len(latencies)) - 1]
        print(f"commit -> delivery: p50 {latencies[len(latencies) // 2]:.3f} s, "
              f"p95 {p95:.3f} s")
        assert p95 < 2.0
    finally:
        stop(running)
        receiver.close()
