"""Production serving: gunicorn, as the README says, answers on a free port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_login_page(tmp_path, database_uri):
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "serving-test"}
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                    body = r.read().decode()
                    headers = r.headers
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                time.sleep(0.2)
        assert "<h1>Sign in</h1>" in body
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
