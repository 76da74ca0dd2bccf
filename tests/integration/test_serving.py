"""Production serving: gunicorn, as the README says, answers on a free port, with the
settings of gunicorn.conf.py."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow  # left out of the quick run (README)

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn(database_uri, workers=2, env=None):
    """gunicorn serving app:app from the checkout (gunicorn.conf.py included) on a free
    port, as the README says, with `env` added to the environment; yields the base URL
    once it answers."""
    port = free_port()
    command = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "serving-test",
           **(env or {})}
    server = subprocess.Popen(
        [command, "-w", str(workers), "-b", f"127.0.0.1:{port}", "app:app"], cwd=ROOT,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/login", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or still starting
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer in 60 s"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_login_page(database_uri):
    with gunicorn(database_uri) as base:
        response = requests.get(f"{base}/login", timeout=30)
        assert "<h1>Sign in</h1>" in response.text
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        # gunicorn.conf.py lets a 6,000-byte request line through (gunicorn's own limit
        # is 4,094), so the app answers it with its own 414 and headers.
        long = requests.get(f"{base}/services?q={'x' * 6000}", timeout=30)
        assert long.status_code == 414
        assert long.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "longer than 4,096" in long.text


def wrong_password(base, barrier, outcomes):
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    barrier.wait()
    response = session.post(f"{base}/login", timeout=60, allow_redirects=False, data={
        "email": "nobody@example.com", "password": "wrong password", "csrf_token": token})
    outcomes.append(response.status_code)


def test_forty_concurrent_wrong_passwords_from_one_address_let_exactly_ten_through(
        database_uri):
    """Issue 18, finding 5: four workers, forty wrong passwords at once from one address:
    ten are checked (422), thirty are told to wait (429), on SQLite and PostgreSQL."""
    with gunicorn(database_uri, workers=4) as base:
        barrier = threading.Barrier(40)
        outcomes = []
        posters = [threading.Thread(target=wrong_password, args=(base, barrier, outcomes))
                   for _ in range(40)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(timeout=120)
    assert sorted(outcomes) == [422] * 10 + [429] * 30
