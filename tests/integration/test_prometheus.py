"""`flask facts collect` against a real Prometheus (Debian's `prometheus`, started here on
a free loopback port with data backfilled by `promtool`), and readiness's own /metrics
scraped by it."""

import math
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from readiness.cli.demo import load_demo
from readiness.extensions import db
from readiness.models import AuditEntry, Fact, Service

from ..conftest import is_ci
from ..factories import make_service, make_team
from .test_serving import free_port, gunicorn

pytestmark = pytest.mark.slow  # left out of the quick run (README)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "telemetry" / "prometheus.example.yaml"
STEP = timedelta(hours=6)
DAYS = 30
# The evaluation moment and the last sample: after anything the demo stored (the facts
# rule allows an hour ahead of the clock).
AT = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)


@pytest.fixture(scope="module")
def binaries():
    found = shutil.which("prometheus"), shutil.which("promtool")
    if None in found:
        reason = "needs Prometheus: apt-get install -y prometheus"
        if is_ci():
            pytest.fail(f"Prometheus tests cannot run in CI: {reason}")
        pytest.skip(reason)
    return found


def openmetrics(slugs):
    """Samples every 6 h for 30 days up to AT of every metric the example file expects,
    different for each service."""
    lines = []
    families = {"pages_total": "counter", "http_requests_total": "counter",
                "up": "gauge", "open_defects": "gauge", "ops_toil_hours_total": "counter",
                "ops_work_hours_total": "counter", "deployments_total": "counter",
                "deployments_failed_total": "counter"}
    steps = int(timedelta(days=DAYS) / STEP)
    for family, kind in families.items():
        name = family.removesuffix("_total")
        lines.append(f"# TYPE {name} {kind}")
        for k, slug in enumerate(slugs, start=1):
            for i in range(steps + 1):
                t = (AT - (steps - i) * STEP).timestamp()
                for labels, value in _series(family, slug, k, i):
                    lines.append(f"{family}{{{labels}}} {value} {t:.0f}")
    return "\n".join(lines) + "\n# EOF\n"


def _series(family, slug, k, i):
    s = f'service="{slug}"'
    if family == "http_requests_total":
        return [(f'{s},code="200"', 1000 * k * i), (f'{s},code="500"', k * i)]
    if family == "up":
        return [(f'{s},instance="a"', 1), (f'{s},instance="b"', k % 2)]
    if family == "open_defects":
        return [(f'{s},severity="sev1"', k % 3), (f'{s},severity="sev2"', 7)]
    per_step = {"pages_total": k, "ops_toil_hours_total": 2, "ops_work_hours_total": 3 + k,
                "deployments_total": 4, "deployments_failed_total": k % 2}[family]
    return [(s, per_step * i)]


@contextmanager
def prometheus(binaries, folder, slugs=(), scrape=None):
    """A Prometheus on a free port over `slugs`' backfilled data; yields its URL."""
    server_binary, promtool = binaries
    data = folder / "data"
    data.mkdir(parents=True)
    if slugs:
        samples = folder / "samples.om"
        samples.write_text(openmetrics(slugs))
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(samples),
                        str(data)], check=True, capture_output=True, timeout=120)
    config = folder / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                      + (scrape or ""))
    port = free_port()
    log = (folder / "prometheus.log").open("w")
    server = subprocess.Popen(
        [server_binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/-/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None, (folder / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "Prometheus was not ready in 60 s"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def ask(url, query, at=AT):
    body = requests.post(f"{url}/api/v1/query", data={"query": query,
                                                       "time": at.timestamp()}, timeout=30)
    return body.json()["data"]["result"]


def queries_answered(url):
    """How many instant queries the server has answered (its own counter)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(
        r'^prometheus_http_requests_total\{[^}]*handler="/api/v1/query"[^}]*\} (\S+)$', text,
        re.MULTILINE))


def collect(runner, url, *args):
    return runner.invoke(args=["facts", "collect", *args, "--at", AT.isoformat()],
                         env={"PROMETHEUS_URL": url})


def test_collected_facts_equal_what_prometheus_answers(app, runner, client, binaries,
                                                        tmp_path):
    load_demo()
    slugs = sorted(db.session.scalars(select(Service.slug)))
    demo_facts = _facts()
    with prometheus(binaries, tmp_path, slugs) as url:
        result = collect(runner, url, "--config", str(EXAMPLE))
        assert result.exit_code == 0, result.output
        example_facts = re.findall(r"- name: (\w+)\n\s+query: (?:>-\n)?([^\n]+(?:\n {6}[^\n]+)*)",
                                   EXAMPLE.read_text())
        assert len(example_facts) == 8
        for name, query in example_facts:
            expected = {s["metric"]["service"]: float(s["value"][1])
                        for s in ask(url, " ".join(query.split()))}
            assert set(expected) == set(slugs), name
            for slug in slugs:
                latest = client.get(f"/api/v1/services/{slug}",
                                    headers=_bearer(app)).get_json()["latest_facts"]
                if math.isfinite(expected[slug]):
                    assert latest[name]["value"] == pytest.approx(expected[slug], rel=1e-12)
                    assert datetime.fromisoformat(latest[name]["observed_at"]) == AT
                    assert latest[name]["source"] == "prometheus"
            assert f"{EXAMPLE} {name}: {len(slugs)} service(s) updated" in result.output
        stored = _facts()
        entries = _collect_entries()
        assert stored - demo_facts == 8 * len(slugs)
        assert len(entries) == 1 and entries[0].changes["count"] == 8 * len(slugs)
        again = collect(runner, url, "--config", str(EXAMPLE))
        assert again.exit_code == 0, again.output
        assert _facts() == stored and len(_collect_entries()) == 1  # nothing new
        assert f"0 service(s) updated, {len(slugs)} already stored" in again.output
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output


@pytest.mark.parametrize("services", [3, 40])
def test_one_query_per_fact_whatever_the_number_of_services(app, runner, binaries, tmp_path,
                                                            services):
    team = make_team("t")
    slugs = [make_service(slug=f"svc-{i}", team=team).slug for i in range(services)]
    db.session.commit()
    with prometheus(binaries, tmp_path, slugs) as url:
        before = queries_answered(url)
        result = collect(runner, url, "--config", str(EXAMPLE))
        assert result.exit_code == 0, result.output
        assert queries_answered(url) - before == 8  # the facts of the example file
    assert _facts() == 8 * services


def test_what_cannot_be_used_is_named_and_the_rest_stored(app, runner, binaries, tmp_path):
    team = make_team("t")
    make_service(slug="checkout", team=team)
    make_service(slug="search", team=team)
    db.session.commit()
    source = tmp_path / "source.yaml"
    source.write_text(
        "source: prometheus\nurl: ${PROMETHEUS_URL}\nfacts:\n"
        "  - name: pages_per_week\n    query: sum by (service) (increase(pages_total[7d]))\n"
        "  - name: broken\n    query: sum(\n"
        "  - name: odd\n    query: >-\n"
        "      label_replace(vector(0) / 0, 'service', 'checkout', '', '')\n"
        "      or label_replace(vector(5), 'service', 'no-such-service', '', '')\n"
        "      or vector(2)\n"
        "  - name: one_number\n    query: scalar(vector(1))\n")
    with prometheus(binaries, tmp_path / "p", ["checkout", "search"]) as url:
        result = collect(runner, url, "--config", str(source))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (
        result.output, result.exception)
    out = result.output
    assert f"{source} pages_per_week: 2 service(s) updated, 0 already stored" in out
    assert (f"{source} broken: query failed: Prometheus refused the query: bad_data: "
            "invalid parameter \"query\": 1:5: parse error") in out, out
    assert (f"{source} odd: 0 service(s) updated, 0 already stored; 1 series whose 'service' "
            "is no service: no-such-service; 1 skipped, not a finite number (NaN, Inf): "
            "checkout; 1 series without the label 'service'") in out, out
    assert f"{source} one_number: query failed: the query gives a scalar" in out
    assert _facts() == 2  # pages_per_week of both services, stored although others failed
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # The run's one audit entry covers each reading's service: moving one to another
    # service (the same value, time and order) is seen.
    later = make_service(slug="later", team=team)
    db.session.commit()
    _, second = db.session.scalars(select(Fact).order_by(Fact.service_id)).all()
    second.service_id = later.id
    db.session.commit()
    tampered = runner.invoke(args=["audit", "verify"])
    assert tampered.exit_code == 1
    assert "a value, time or source changed after they were recorded" in tampered.output


def test_a_server_that_is_down_is_a_clear_message(app, runner, tmp_path):
    source = tmp_path / "source.yaml"
    source.write_text("source: prometheus\nurl: http://127.0.0.1:${PORT}\ntimeout_seconds: 2\n"
                      "facts:\n  - name: pages_per_week\n    query: up\n")
    port = free_port()
    result = runner.invoke(args=["facts", "collect", "--config", str(source)],
                           env={"PORT": str(port)})
    assert result.exit_code == 1
    assert (f"{source} pages_per_week: query failed: http://127.0.0.1:{port}: cannot reach "
            "Prometheus") in result.output


METRICS_TOKEN = "metrics-token-for-the-test"
GATE_CALLS = 60


def test_readiness_metrics_are_right_across_workers_and_scraped_by_prometheus(
        make_app, binaries, tmp_path, database_uri):
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    with gunicorn(database_uri, workers=2, env={"METRICS_TOKEN": METRICS_TOKEN}) as base:
        with make_app(create_tables=False).app_context():  # the database gunicorn made
            load_demo()
            db.session.commit()
            ops_managed = len(db.session.scalars(select(Service.id).where(
                Service.state == "ops_managed")).all())
            slug = db.session.scalar(select(Service.slug).where(
                Service.state == "ops_managed"))
            admin = _admin_token()
            db.session.remove()
        # Gate answers four at a time, so both workers give some; every scrape, whichever
        # worker answers it, counts them all.
        def gate(_):
            return requests.get(f"{base}/api/v1/services/{slug}/gate", headers=admin,
                                timeout=30).status_code

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(gate, range(GATE_CALLS)))
        result = "allowed" if answers[0] == 200 else "refused"
        for _ in range(6):
            scraped = requests.get(f"{base}/metrics", headers=bearer, timeout=30)
            assert scraped.status_code == 200
            assert (f'readiness_gate_answers_total{{result="{result}"}} {GATE_CALLS}.0'
                    in scraped.text)
        port = base.rsplit(":", 1)[1]
        scrape = ("scrape_configs:\n  - job_name: readiness\n    scrape_interval: 1s\n"
                  f"    authorization: {{credentials: {METRICS_TOKEN}}}\n"
                  f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
        with prometheus(binaries, tmp_path, scrape=scrape) as url:
            deadline = time.monotonic() + 60
            while not (found := ask(url, 'readiness_services{state="ops_managed"}',
                                    datetime.now(UTC))):
                assert time.monotonic() < deadline, "Prometheus scraped nothing in 60 s"
                time.sleep(0.5)
            assert float(found[0]["value"][1]) == ops_managed
            assert found[0]["metric"]["job"] == "readiness"
            up = ask(url, "up", datetime.now(UTC))
            assert [float(s["value"][1]) for s in up] == [1.0]


def _admin_token():
    from readiness.commands.tokens import create_token
    from readiness.models import User
    admin = db.session.scalars(select(User).where(User.is_admin)).first()
    token = create_token(admin, name="gate test", actor=admin)[1]
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _facts():
    return len(db.session.scalars(select(Fact.id)).all())


def _collect_entries():
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "fact:collect")).all()


def _bearer(app):
    from readiness.commands.tokens import create_token
    from readiness.models import User
    if not hasattr(app, "_test_token"):
        admin = db.session.scalars(select(User).where(User.is_admin)).first()
        app._test_token = create_token(admin, name="prometheus test", actor=admin)[1]
        db.session.commit()
    return {"Authorization": f"Bearer {app._test_token}"}


def test_the_worker_collects_each_source_every_interval(app, runner, binaries, tmp_path):
    team = make_team("t")
    make_service(slug="checkout", team=team)
    db.session.commit()
    folder = tmp_path / "telemetry"
    folder.mkdir()
    (folder / "prometheus.yaml").write_text(
        "source: prometheus\nurl: ${PROMETHEUS_URL}\ninterval_minutes: 60\nfacts:\n"
        "  - name: open_sev1_defects\n"
        "    query: sum by (service) (last_over_time(open_defects[1d]))\n")
    app.config["TELEMETRY_DIR"] = str(folder)
    try:
        with prometheus(binaries, tmp_path / "p", ["checkout"]) as url:
            first = runner.invoke(args=["worker", "--once"], env={"PROMETHEUS_URL": url})
            assert first.exit_code == 0, first.output
            assert "prometheus.yaml: 1 reading(s) stored" in first.output
            again = runner.invoke(args=["worker", "--once"], env={"PROMETHEUS_URL": url})
            assert "reading(s) stored" not in again.output  # its turn is in an hour
    finally:
        app.config["TELEMETRY_DIR"] = None
    assert _facts() == 1
