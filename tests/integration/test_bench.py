"""The benchmark tools at 1 % scale: generate, verify the record, serve and measure.

Keeps bench/ working as the app changes; the figures themselves are in bench/README.md.
"""

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from readiness import create_app
from readiness.domain.charts import cycle_tenths
from readiness.extensions import db
from readiness.models import Service, utcnow
from readiness.queries.lifecycle import handback_candidates
from readiness.queries.work import ready_for

from .test_worklists import plain_candidates, plain_ready

pytestmark = pytest.mark.slow  # left out of the quick run (README)

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
PAGES = {"dashboard", "services", "services_filtered", "service_page", "review_page",
         "my_work"}
ENDPOINTS = {*PAGES, "gate", "metrics", "bare", "ingest_1000_facts"}
NEWEST = ("SELECT f.service_id, f.name, f.value, f.observed_at FROM fact f JOIN "
          "(SELECT service_id, name, max(observed_at) AS at FROM fact GROUP BY service_id, name)"
          " m ON m.service_id = f.service_id AND m.name = f.name AND m.at = f.observed_at")


def test_generate_verify_and_run(tmp_path):
    path = tmp_path / "bench.sqlite"
    url = f"sqlite:///{path}"
    token = tmp_path / "token.txt"
    generated = subprocess.run([sys.executable, str(BENCH / "generate.py"), "--scale", "0.01",
                                "--database-url", url, "--token-file", str(token)],
                               check=True, cwd=ROOT, capture_output=True, text=True)
    assert "Scale 0.01: about 100 services; expect ~" in generated.stdout  # time, memory, disk

    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "smoke-test"}
    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "audit", "verify"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    run = subprocess.run([sys.executable, str(BENCH / "run.py"),
                          "--database-url", url, "--token-file", str(token), "--requests", "5",
                          "--warmup", "1", "--ingest-requests", "3", "--concurrency", "2",
                          "--duration", "0.5", "--output", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (result_file,) = tmp_path.glob("*-sqlite.json")
    result = json.loads(result_file.read_text())
    assert result["rows"]["service"] == 100
    assert result["rows"]["review"] == 300
    assert result["rows"]["fact"] == 10_000  # the ingest benchmark's facts are deleted
    assert set(result["results"]) == ENDPOINTS
    assert result["results"]["ingest_1000_facts"]["sequential"]["facts_per_s"] > 0
    assert result["gate_vs_bare"] > 0

    # The generator fills latest_fact, and the run puts it back after deleting its facts.
    with sqlite3.connect(path) as connection:
        newest = set(connection.execute(NEWEST))
        kept = set(connection.execute(
            "SELECT service_id, name, value, observed_at FROM latest_fact"))
    assert len(newest) == 700 and kept == newest

    # The counts the database keeps (readiness.summaries) hold after the generator's bulk
    # inserts and updates.
    with sqlite3.connect(path) as connection:
        counted = set(connection.execute("SELECT state, count(*) FROM service GROUP BY state"))
        kept = set(connection.execute(
            "SELECT state, services FROM service_state_count WHERE services > 0"))
    assert len(counted) == 4 and kept == counted
    with sqlite3.connect(path) as connection:
        counted = set(connection.execute(
            "SELECT v.stage, r.state, count(*) FROM review r JOIN checklist_version v "
            "ON v.id = r.checklist_version_id GROUP BY v.stage, r.state"))
        kept = set(connection.execute(
            "SELECT stage, state, reviews FROM review_state_count WHERE reviews > 0"))
        assert len(counted) >= 5 and kept == counted
        counted = set(connection.execute(
            "SELECT substr(created_at, 1, 7), kind, count(*) FROM management_event "
            "GROUP BY 1, 2"))
        kept = set(connection.execute("SELECT month, kind, events FROM event_month_count"))
        assert len(counted) >= 12 and kept == counted
        cycles = Counter(
            (month, cycle_tenths(seconds)) for month, seconds in connection.execute(
                "SELECT substr(approved_at, 1, 7), CAST(strftime('%s', approved_at) AS INTEGER)"
                " - CAST(strftime('%s', first_submitted_at) AS INTEGER) FROM review "
                "WHERE state = 'approved' AND first_submitted_at IS NOT NULL"))
        counted = {(month, tenths, n) for (month, tenths), n in cycles.items()}
        kept = set(connection.execute("SELECT month, tenths, reviews FROM review_cycle_count"))
        assert len(counted) >= 12 and kept == counted

    # Growth mode: the same pages on two sizes, with the ratio of their p95s.
    larger = tmp_path / "larger.sqlite"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), "--scale", "0.02",
                    "--database-url", f"sqlite:///{larger}", "--token-file",
                    str(tmp_path / "token-2.txt")], check=True, cwd=ROOT, capture_output=True)
    run = subprocess.run([sys.executable, str(BENCH / "run.py"), "--database-url", url,
                          "--large-database-url", f"sqlite:///{larger}", "--requests", "5",
                          "--warmup", "1", "--output", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (growth_file,) = tmp_path.glob("*-sqlite-growth.json")
    growth = json.loads(growth_file.read_text())
    assert (growth["rows"]["small"]["service"], growth["rows"]["large"]["service"]) == (100, 200)
    assert set(growth["results"]) == PAGES | {"metrics"}
    for page, result in growth["results"].items():
        assert result["p95_ratio"] == round(result["large"]["p95_ms"]
                                            / result["small"]["p95_ms"], 3)
        assert f"{page:<20}" in run.stdout

    # The worklists' moments (commands.worklists) hold after the generator: each list
    # equals what the service page decides for every service, one by one.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "smoke-test",
                      "AUTO_MIGRATE": False})
    with app.app_context():
        services = db.session.scalars(select(Service)).all()
        now = utcnow()
        assert {c.service.slug for c in handback_candidates(now).items} \
            == plain_candidates(services, now) != set()
        for move in ("launch", "handoff"):
            assert {r.slug for r in ready_for(move, now).items} \
                == plain_ready(services, now, move)
