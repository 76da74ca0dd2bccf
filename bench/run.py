"""Serve the app with gunicorn as a user would, time its pages and API, write the results.

    python bench/run.py                                  # SQLite bench/bench.sqlite
    DATABASE_URL=postgresql+psycopg:///postgres python bench/run.py

In one run: the app (`gunicorn -w 2 -b 127.0.0.1:PORT app:app`, DATABASE_URL and a
SECRET_KEY in the environment) and a bare Flask app (bench/bare.py) with the same
gunicorn settings, each on a free loopback port. It signs in through the login form
(CSRF token, session cookie), then

- times N sequential requests (after a warm-up) to: the dashboard, the service list
  (first page and a filtered page), the page of the service with the longest
  timeline, a review page, the gate endpoint (Bearer token), the bare endpoint, and
  a 1,000-fact ingest POST (fresh timestamps each time);
- measures throughput with C client processes for D seconds per endpoint (the gate
  and the bare endpoint under identical settings give the gate/bare ratio);
- inserts the same 1,000-fact batches with a raw DB-API `executemany` straight into
  the same database's fact table, for the ingest ratio.

Prints a table and writes bench/results/<YYYY-MM-DD>-<dialect>.json. The facts it
added are deleted at the end (--keep-facts keeps them).
"""

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_URL = "sqlite:///bench/bench.sqlite"
HOST = "127.0.0.1"
FACT_NAMES = ("pages_per_week", "ops_toil_pct", "slo_attainment_pct", "open_sev1_defects",
              "change_failure_rate_pct", "monitoring_coverage_pct", "deploy_success_rate_pct")
INGEST_SOURCE = "bench-ingest"
RAW_SOURCE = "bench-raw"
TARGETS = {"gate_vs_bare": 0.6, "p95_ms": 100, "ingest_vs_raw": 0.5}
P95_PAGES = ("dashboard", "services", "services_filtered", "service_page")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first")
    parser.add_argument("--ingest-requests", type=int, default=None,
                        help="1,000-fact POSTs to time (default: --requests)")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument("--duration", type=float, default=5.0,
                        help="seconds of concurrent load per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn -w for both apps")
    parser.add_argument("--app-dir", default=str(ROOT),
                        help="checkout whose app.py is served (default: this one)")
    parser.add_argument("--token-file", default=None,
                        help="the API token (default: what generate.py wrote, "
                             "bench/token.txt or bench/token-postgresql.txt)")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--output", default=str(BENCH / "results"),
                        help="folder for the JSON results ('-': do not write)")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--only", default="",
                        help="comma-separated subset, e.g. gate,bare,ingest (default: all)")
    parser.add_argument("--keep-facts", action="store_true",
                        help="keep the facts the ingest benchmark added")
    parser.add_argument("--large-database-url", default=None,
                        help="growth mode: serve this larger generated database beside "
                             "--database-url and time the same pages on both, alternating, "
                             "then print each page's p95 at both sizes and their ratio")
    return parser.parse_args(argv)


def absolute_sqlite_url(url):
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(Path.cwd() / url[len(prefix):])
    return url


# --- HTTP, lean: one connection per request (gunicorn's sync workers close them) -------


def request(port, method, path, headers=None, body=None, timeout=120):
    """(status, headers, body bytes, seconds)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, response.headers, data, time.perf_counter() - started


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn process group on a free loopback port."""

    def __init__(self, name, chdir, wsgi, workers, env, log_dir):
        self.name, self.port = name, free_port()
        self.log = open(Path(log_dir) / f"{name}.log", "w")  # noqa: SIM115
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.command = [str(gunicorn), "-w", str(workers), "-b", f"{HOST}:{self.port}",
                        "--chdir", str(chdir), wsgi]
        self.process = subprocess.Popen(  # noqa: S603
            self.command, env=env, cwd=chdir, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait(self, path, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log.name}")
            try:
                if request(self.port, "GET", path, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"{self.name} did not answer {path} within {timeout} s")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def sign_in(port, email, password):
    """The session cookie header, after a form sign-in with the page's CSRF token."""
    status, headers, body, _ = request(port, "GET", "/login")
    cookies = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    if status != 200 or match is None:
        raise SystemExit(f"the login page gave {status} without a CSRF token")
    form = urlencode({"csrf_token": match.group(1).decode(), "email": email,
                      "password": password, "next": ""})
    cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    status, headers, body, _ = request(
        port, "POST", "/login", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    for header in headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    if status != 302 or "/login" in (headers.get("Location") or ""):
        raise SystemExit(f"signing in as {email} failed ({status})")
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


# --- measuring ------------------------------------------------------------------------


def summary(latencies, elapsed=None):
    ms = sorted(x * 1000 for x in latencies)
    if len(ms) >= 2:
        q = statistics.quantiles(ms, n=100, method="inclusive")
        p50, p95 = q[49], q[94]
    else:
        p50 = p95 = ms[0] if ms else float("nan")
    total = elapsed if elapsed is not None else sum(latencies)
    return {"n": len(ms), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
            "max_ms": round(ms[-1], 2) if ms else None, "mean_ms": round(statistics.fmean(ms), 2)
            if ms else None, "rps": round(len(ms) / total, 1) if total else None}


def sequential(port, path, headers, n, warmup, expected):
    """Time n GETs, one after another, after `warmup` untimed ones; (summary, statuses)."""
    statuses = {}
    for _ in range(warmup):
        request(port, "GET", path, headers)
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        status, _, data, seconds = request(port, "GET", path, headers)
        statuses[status] = statuses.get(status, 0) + 1
        if status not in expected:
            raise SystemExit(f"GET {path} gave {status}: {data[:300]!r}")
        latencies.append(seconds)
    return summary(latencies, time.perf_counter() - started), statuses


def _hammer(job):
    """One client process: requests back to back until the window closes."""
    port, method, path, headers, start, duration = job
    while time.time() < start:
        time.sleep(0.001)
    end = start + duration
    latencies, statuses = [], {}
    while time.time() < end:
        status, _, _, seconds = request(port, method, path, headers)
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(seconds)
    return latencies, statuses


def concurrent(port, path, headers, clients, duration):
    start = time.time() + 0.5
    jobs = [(port, "GET", path, headers, start, duration)] * clients
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_hammer, jobs)
    latencies = [x for lat, _ in results for x in lat]
    statuses = {}
    for _, st in results:
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    result = summary(latencies, duration)
    result["statuses"] = statuses
    result["clients"] = clients
    return result


# --- the database, read directly (targets, raw inserts, counts) -----------------------


class Database:
    def __init__(self, url):
        from sqlalchemy import create_engine

        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self.engine = create_engine(url)

    def rows(self, sql, **params):
        from sqlalchemy import text

        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).all()

    def scalar(self, sql, **params):
        return self.rows(sql, **params)[0][0]

    def counts(self):
        tables = ("team", "user", "service", "review", "answer", "decision", "fact",
                  "management_event", "audit_entry")
        return {t: self.scalar(f'SELECT count(*) FROM "{t}"') for t in tables}  # noqa: S608

    def server_version(self):
        if self.dialect == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        return self.scalar("SELECT version()").split(",")[0]

    def targets(self):
        """Slugs and ids to request: the longest timeline, a review, ingest services."""
        facts = dict(self.rows("SELECT service_id, count(*) FROM fact GROUP BY service_id"))
        events = dict(self.rows("SELECT service_id, count(*) FROM management_event "
                                "GROUP BY service_id"))
        reviews = dict(self.rows("SELECT service_id, count(*) FROM review GROUP BY service_id"))
        busiest = max(facts.keys() | events.keys(),
                      key=lambda s: (facts.get(s, 0) + events.get(s, 0) + reviews.get(s, 0), s))
        slug, state = self.rows("SELECT slug, state FROM service WHERE id = :id", id=busiest)[0]
        review_id = self.scalar(
            "SELECT r.id FROM review r WHERE r.service_id = :s ORDER BY "
            "(SELECT count(*) FROM answer a WHERE a.review_id = r.id) + "
            "(SELECT count(*) FROM decision d WHERE d.review_id = r.id) DESC, r.id DESC "
            "LIMIT 1", s=busiest)
        quiet = self.rows("SELECT id, slug FROM service WHERE state = 'development' "
                          "ORDER BY id LIMIT 2")
        # Facts for an ops-managed service cost the most: its handback checks are decided
        # again with each post (readiness.commands.worklists).
        ops = self.rows("SELECT id, slug FROM service WHERE state = 'ops_managed' "
                        "ORDER BY id LIMIT 1")
        lead = self.scalar('SELECT email FROM "user" WHERE is_ops_lead ORDER BY id LIMIT 1')
        return {"ops_lead": lead,"service": {"id": busiest, "slug": slug, "state": state,
                            "facts": facts.get(busiest, 0), "events": events.get(busiest, 0),
                            "reviews": reviews.get(busiest, 0)},
                "review_id": review_id,
                "ingest": {"id": ops[0][0], "slug": ops[0][1]},
                "raw": {"id": quiet[1][0], "slug": quiet[1][1]}}

    def raw_inserter(self):
        """A function inserting [(service_id, name, value, observed_at, source)] with the
        driver's executemany in one transaction; the DB-API connection stays open."""
        sql = ("INSERT INTO fact (service_id, name, value, observed_at, source, recorded_at) "
               "VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
        if self.dialect == "sqlite":
            connection = sqlite3.connect(self.url[len("sqlite:///"):], timeout=15)
            connection.execute("PRAGMA busy_timeout=15000")
            statement = sql.format("?")

            def stamp(at):  # how SQLAlchemy stores the app's UTC timestamps in SQLite
                return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        else:
            import psycopg

            connection = psycopg.connect(self.url.replace("postgresql+psycopg://",
                                                          "postgresql://"))
            statement = sql.format("%s")

            def stamp(at):
                return at

        def insert(rows):
            now = stamp(datetime.now(UTC))
            params = [(s, n, v, stamp(at), src, now) for s, n, v, at, src in rows]
            cursor = connection.cursor()
            cursor.executemany(statement, params)
            connection.commit()
            cursor.close()

        return insert, connection

    def delete_bench_facts(self):
        from sqlalchemy import text

        sources = {"a": INGEST_SOURCE, "b": RAW_SOURCE}
        with self.engine.begin() as connection:
            touched = connection.execute(text(
                "SELECT DISTINCT service_id FROM latest_fact WHERE source IN (:a, :b)"),
                sources).scalars().all()
            result = connection.execute(text("DELETE FROM fact WHERE source IN (:a, :b)"),
                                        sources)
            connection.execute(text("DELETE FROM latest_fact WHERE source IN (:a, :b)"),
                               sources)
            # The readings the app kept as the newest were ours: put back the newest left.
            for service_id in touched:
                connection.execute(text(
                    "INSERT INTO latest_fact (service_id, name, value, observed_at, source) "
                    "SELECT f.service_id, f.name, f.value, f.observed_at, f.source FROM fact f "
                    "JOIN (SELECT name, max(observed_at) AS at FROM fact WHERE service_id = :s "
                    "GROUP BY name) m ON f.name = m.name AND f.observed_at = m.at "
                    "WHERE f.service_id = :s AND NOT EXISTS (SELECT 1 FROM latest_fact l "
                    "WHERE l.service_id = :s AND l.name = f.name)"), {"s": service_id})
        return result.rowcount


def fact_batches(n, size=1000):
    """n batches of `size` facts with fresh, distinct timestamps (and microseconds no
    generated fact has)."""
    rng = random.Random()  # noqa: S311  (test data, not secrets)
    base = datetime.now(UTC) - timedelta(minutes=5)
    micro = rng.randint(1, 999_999)
    for r in range(n):
        start = base - timedelta(seconds=r * size)
        yield [(FACT_NAMES[i % len(FACT_NAMES)], round(rng.uniform(0, 100), 2),
                (start - timedelta(seconds=i)).replace(microsecond=micro))
               for i in range(size)]


def payload(batch, source):
    return json.dumps([{"name": name, "value": value,
                        "observed_at": at.isoformat().replace("+00:00", "Z"),
                        "source": source} for name, value, at in batch]).encode()


# --- the run --------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    if args.large_database_url:
        return growth(args)
    url = absolute_sqlite_url(args.database_url)
    n, ingest_n = args.requests, args.ingest_requests or args.requests
    database = Database(url)
    if args.token_file is None:
        args.token_file = str(BENCH / ("token.txt" if database.dialect == "sqlite"
                                       else "token-postgresql.txt"))
    token = Path(args.token_file).read_text().strip()
    print(f"Database: {url} ({database.server_version()})")
    counts = database.counts()
    print("Rows: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
    targets = database.targets()
    service = targets["service"]
    print(f"Longest timeline: {service['slug']} ({service['facts']:,} facts, "
          f"{service['events']} events, {service['reviews']} reviews); review "
          f"{targets['review_id']}")

    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    log_dir = tempfile.mkdtemp(prefix="readiness-bench-")
    app = Server("app", args.app_dir, "app:app", args.workers, env, log_dir)
    bare = Server("bare", BENCH, "bare:app", args.workers, env, log_dir)
    results = {}
    try:
        app.wait("/login")
        bare.wait("/ping")
        print(f"Serving: {' '.join(app.command)}")
        print(f"         {' '.join(bare.command)}")
        cookie = {"Cookie": sign_in(app.port, args.email, args.password)}
        bearer = {"Authorization": f"Bearer {token}"}
        slug = service["slug"]
        status = request(app.port, "GET", f"/api/v1/services/{slug}/gate", bearer)[0]
        if status == 401:
            raise SystemExit(f"the token in {args.token_file} is not valid for this database: "
                             "make one with `flask --app app tokens create admin@example.com`")
        lead = {"Cookie": sign_in(app.port, targets["ops_lead"], args.password)}
        pages = {**app_pages(app.port, targets, cookie, lead, bearer),
                 "bare": (bare.port, "/ping", {}, (200,))}
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        if only:
            pages = {k: v for k, v in pages.items() if k in only}
        for name, (port, path, headers, expected) in pages.items():
            result, statuses = sequential(port, path, headers, n, args.warmup, expected)
            result["path"], result["statuses"] = path, statuses
            results[name] = {"sequential": result}
            print(f"  {name:<18} p50 {result['p50_ms']:8.1f} ms  p95 "
                  f"{result['p95_ms']:8.1f} ms  {result['rps']:7.1f} req/s")
        for name, (port, path, headers, _expected) in pages.items():
            result = concurrent(port, path, headers, args.concurrency, args.duration)
            results[name]["concurrent"] = result
            print(f"  {name:<18} {args.concurrency} clients: {result['rps']:7.1f} req/s "
                  f"(p95 {result['p95_ms']:.1f} ms) {result['statuses']}")

        if not only or "ingest" in only:
            results["ingest_1000_facts"] = ingest(app, database, targets, bearer, args.warmup,
                                                  ingest_n)
    finally:
        app.stop()
        bare.stop()
        if not args.keep_facts:
            print(f"Deleted the {database.delete_bench_facts():,} facts this run added.")
            refresh_worklists(args.app_dir, env)
    return finish(args, database, counts, targets, results, app)


def app_pages(port, targets, cookie, lead, bearer):
    """{name: (port, path, headers, expected statuses)} of the app's timed pages."""
    slug = targets["service"]["slug"]
    return {
        "dashboard": (port, "/", cookie, (200,)),
        "services": (port, "/services/", cookie, (200,)),
        "services_filtered": (port, "/services/?state=ops_managed&tier=1&page=3",
                              cookie, (200,)),
        "service_page": (port, f"/services/{slug}", cookie, (200,)),
        "review_page": (port, f"/reviews/{targets['review_id']}", cookie, (200,)),
        "my_work": (port, "/my-work", lead, (200,)),  # an ops lead's queue
        "gate": (port, f"/api/v1/services/{slug}/gate", bearer, (200, 409)),
        "metrics": (port, "/metrics", bearer, (200,)),  # what a Prometheus scrapes
    }


def refresh_worklists(app_dir, env):
    """Mend the worklists' moments of the services whose facts were deleted behind the
    app's back (`flask worklists refresh`; a checkout without it has no such moments)."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worklists",
                           "refresh"], cwd=app_dir, env=env, capture_output=True, text=True)
    print(done.stdout.strip() if done.returncode == 0
          else "No `flask worklists refresh` in the served checkout: nothing to mend.")


def growth(args):
    """Growth mode: the same pages on two generated sizes, served side by side and
    requested alternately (a few requests to one, then the other), so both meet the
    same moments of a noisy machine; prints p95 at each size and the ratio."""
    sizes = {"small": absolute_sqlite_url(args.database_url),
             "large": absolute_sqlite_url(args.large_database_url)}
    log_dir = tempfile.mkdtemp(prefix="readiness-growth-")
    servers, pages, counts = {}, {}, {}
    try:
        for size, url in sizes.items():
            database = Database(url)
            counts[size] = database.counts()
            targets = database.targets()
            metrics_token = secrets.token_hex(16)  # /metrics without an API token
            env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
                   "METRICS_TOKEN": metrics_token}
            servers[size] = app = Server(f"app-{size}", args.app_dir, "app:app", args.workers,
                                         env, log_dir)
            app.wait("/login")
            cookie = {"Cookie": sign_in(app.port, args.email, args.password)}
            lead = {"Cookie": sign_in(app.port, targets["ops_lead"], args.password)}
            pages[size] = app_pages(app.port, targets, cookie, lead,
                                    {"Authorization": f"Bearer {metrics_token}"})
            del pages[size]["gate"]  # one service by its slug: flat (bench/README.md)
            print(f"{size}: {url} ({counts[size]['service']:,} services)")
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        names = [name for name in pages["small"] if not only or name in only]
        rounds = 5
        latencies = {(name, size): [] for name in names for size in sizes}
        for name in names:
            for size in sizes:  # warm both up
                sequential(*pages[size][name][:3], 1, args.warmup, pages[size][name][3])
            for _ in range(rounds):
                for size in sizes:
                    port, path, headers, expected = pages[size][name]
                    for _ in range(max(1, args.requests // rounds)):
                        status, _, data, seconds = request(port, "GET", path, headers)
                        if status not in expected:
                            raise SystemExit(f"GET {path} gave {status}: {data[:300]!r}")
                        latencies[name, size].append(seconds)
            small, large = (summary(latencies[name, size], sum(latencies[name, size]))
                            for size in sizes)
            print(f"  {name:<18} p95 {small['p95_ms']:8.1f} ms -> {large['p95_ms']:8.1f} ms")
    finally:
        for server in servers.values():
            server.stop()
    results = {name: {size: summary(latencies[name, size], sum(latencies[name, size]))
                      for size in sizes} for name in names}
    for result in results.values():
        result["p95_ratio"] = round(result["large"]["p95_ms"] / result["small"]["p95_ms"], 3)
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "dialect": Database(sizes["small"]).dialect, "label": args.label,
              "mode": "growth", "rows": counts, "results": results,
              "settings": {"requests": args.requests, "warmup": args.warmup,
                           "rounds": rounds, "workers": args.workers},
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    print()
    print(f"{'page':<20}{'p95 ' + format(counts['small']['service'], ','):>16}"
          f"{'p95 ' + format(counts['large']['service'], ','):>16}{'ratio':>8}")
    for name, result in results.items():
        print(f"{name:<20}{result['small']['p95_ms']:>13.1f} ms{result['large']['p95_ms']:>13.1f}"
              f" ms{result['p95_ratio']:>8.2f}")
    if args.output != "-":
        out = Path(args.output) / f"{report['date'][:10]}-{report['dialect']}-growth.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"Wrote {out}")
    return report


def ingest(app, database, targets, bearer, warmup, n):
    """n 1,000-fact POSTs, each followed by the same batch inserted by raw executemany
    (into another service), so both see the same moments of a noisy machine."""
    batches = list(fact_batches(warmup + n))
    headers = {**bearer, "Content-Type": "application/json"}
    path = f"/api/v1/services/{targets['ingest']['slug']}/facts"
    bodies = [payload(b, INGEST_SOURCE) for b in batches]
    raw_id = targets["raw"]["id"]
    rows = [[(raw_id, nm, v, at, RAW_SOURCE) for nm, v, at in batch] for batch in batches]
    insert, connection = database.raw_inserter()
    latencies, raw_latencies = [], []
    try:
        for i, body in enumerate(bodies):
            status, _, data, seconds = request(app.port, "POST", path, headers, body)
            if status != 200 or json.loads(data)["stored"] != 1000:
                raise SystemExit(f"ingest gave {status}: {data[:300]!r}")
            t = time.perf_counter()
            insert(rows[i])
            raw_seconds = time.perf_counter() - t
            if i >= warmup:
                latencies.append(seconds)
                raw_latencies.append(raw_seconds)
    finally:
        connection.close()
    api, raw = summary(latencies, sum(latencies)), summary(raw_latencies, sum(raw_latencies))
    api["facts_per_s"] = round(1000 * n / sum(latencies))
    api["path"] = path
    raw["facts_per_s"] = round(1000 * n / sum(raw_latencies))
    result = {"sequential": api, "raw_executemany": raw,
              "ratio": round(api["facts_per_s"] / raw["facts_per_s"], 3)}
    print(f"  ingest             {api['facts_per_s']:,} facts/s through the API, "
          f"{raw['facts_per_s']:,} facts/s raw executemany")
    return result


def finish(args, database, counts, targets, results, app):
    def ratio(a, b):
        return round(a / b, 3) if a and b else None

    gate_ratio = ratio(results.get("gate", {}).get("concurrent", {}).get("rps"),
                       results.get("bare", {}).get("concurrent", {}).get("rps"))
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dialect": database.dialect,
        "label": args.label,
        "database": database.server_version(),
        "rows": counts,
        "targets_used": targets,
        "settings": {"requests": args.requests, "warmup": args.warmup,
                     "ingest_requests": args.ingest_requests or args.requests,
                     "concurrency": args.concurrency, "duration_s": args.duration,
                     "gunicorn": " ".join(app.command[1:]), "app_dir": args.app_dir},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "gunicorn": gunicorn_version()},
        "results": results,
        "gate_vs_bare": gate_ratio,
        "ingest_vs_raw": results.get("ingest_1000_facts", {}).get("ratio"),
    }
    report["verdicts"] = verdicts(report)
    print_table(report)
    if args.output != "-":
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y-%m-%d}-{database.dialect}"
        if args.label:
            name += "-" + re.sub(r"[^a-z0-9-]+", "-", args.label.lower()).strip("-")
        path = out / f"{name}.json"
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"Wrote {path}")
    return report


def gunicorn_version():
    try:
        from importlib.metadata import version

        return version("gunicorn")
    except Exception:
        return None


def verdicts(report):
    results, out = report["results"], {}
    if report["gate_vs_bare"] is not None:
        out["gate_vs_bare >= 0.6"] = report["gate_vs_bare"] >= TARGETS["gate_vs_bare"]
    if report["ingest_vs_raw"] is not None:
        out["ingest_vs_raw >= 0.5"] = report["ingest_vs_raw"] >= TARGETS["ingest_vs_raw"]
    for page in P95_PAGES:
        if page in results:
            out[f"{page} p95 < 100 ms"] = (results[page]["sequential"]["p95_ms"]
                                           < TARGETS["p95_ms"])
    return out


def print_table(report):
    results = report["results"]
    print()
    print(f"{'endpoint':<20}{'p50 ms':>9}{'p95 ms':>9}{'req/s (1)':>11}"
          f"{'req/s (' + str(report['settings']['concurrency']) + ')':>11}")
    for name, result in results.items():
        if name == "ingest_1000_facts":
            continue
        seq, con = result["sequential"], result["concurrent"]
        print(f"{name:<20}{seq['p50_ms']:>9.1f}{seq['p95_ms']:>9.1f}{seq['rps']:>11.1f}"
              f"{con['rps']:>11.1f}")
    ingest = results.get("ingest_1000_facts")
    if ingest:
        api, raw = ingest["sequential"], ingest["raw_executemany"]
        print(f"{'ingest (1,000 facts)':<20}{api['p50_ms']:>9.1f}{api['p95_ms']:>9.1f}"
              f"{api['rps']:>11.1f}{'':>11}")
        print(f"{'raw executemany':<20}{raw['p50_ms']:>9.1f}{raw['p95_ms']:>9.1f}"
              f"{raw['rps']:>11.1f}{'':>11}")
    print()
    if report["gate_vs_bare"] is not None:
        print(f"gate / bare throughput: {report['gate_vs_bare']:.2f} (target >= 0.6)")
    if ingest:
        print(f"fact ingest: {api['facts_per_s']:,} facts/s vs raw {raw['facts_per_s']:,} "
              f"facts/s = {report['ingest_vs_raw']:.3f} (target >= 0.5)")
    for verdict, ok in report["verdicts"].items():
        print(f"  {'PASS' if ok else 'MISS'}  {verdict}")


if __name__ == "__main__":
    main()
