"""Fill a database with a realistic organisation, for the benchmarks in bench/run.py.

    python bench/generate.py                       # full size, SQLite bench/bench.sqlite
    python bench/generate.py --scale 0.01          # 1 %: a few seconds (the smoke test)
    DATABASE_URL=postgresql+psycopg:///postgres python bench/generate.py

At scale 1: 200 teams, 10,000 services in all four states, 30,000 reviews in every
review state with their answers (every item of the checklist for submitted and decided
reviews), decisions with content hashes for approvals, 20,000 management events,
1,000,000 facts, ~1,000 users and the account admin@example.com / password `bench`
with an API token written to bench/token.txt.

The schema is the migrated one (create_app with AUTO_MIGRATE) and the checklists are
synced from checklists/ with the app's own sync_checklists. The bulk rows go in with
SQLAlchemy Core `insert()` and lists of dicts, in chunks. Every write the app would
audit gets its audit entry: the entries are built here, sorted by time and chained
with the app's own `entry_hash`, so `flask --app app audit verify` passes on the
result (sign-off hashes included).
"""

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from readiness import commands as operations  # noqa: E402
from readiness import create_app  # noqa: E402
from readiness.audit import GENESIS_HASH, entry_hash  # noqa: E402
from readiness.commands.tokens import create_token  # noqa: E402
from readiness.commands.worklists import refresh_worklists  # noqa: E402
from readiness.domain.hashing import content_hash  # noqa: E402
from readiness.extensions import db  # noqa: E402
from readiness.models import (  # noqa: E402
    Answer,
    AuditEntry,
    ChecklistVersion,
    Decision,
    Fact,
    LatestFact,
    ManagementEvent,
    Review,
    Service,
    Team,
    User,
    clock_at,
    team_membership,
)

DEFAULT_URL = "sqlite:///bench/bench.sqlite"
BENCH_PASSWORD = "bench"  # noqa: S105  # the documented password of bench accounts
TOKEN_FILE = Path(__file__).resolve().parent / "token.txt"


def default_token_file(url):
    """bench/token.txt for SQLite, bench/token-postgresql.txt for PostgreSQL: a run on one
    database does not overwrite the other's token."""
    return TOKEN_FILE if url.startswith("sqlite") else TOKEN_FILE.with_name(
        "token-postgresql.txt")

FULL = {"teams": 200, "services": 10_000, "reviews": 30_000, "facts": 1_000_000,
        "events": 20_000, "members_per_team": 5, "consultants": 20, "ops_leads": 8,
        "admins": 3}
STATE_SHARES = (("development", 0.18), ("self_managed", 0.40), ("ops_managed", 0.32),
                ("retired", 0.10))
HISTORY_DAYS = 1100  # the organisation's story spans three years
CHUNK = 20_000

# Telemetry: (healthy low, high, decimals) and a value that fails the handback criteria.
FACTS = {
    "pages_per_week": ((0, 2, 0), (6, 14, 0)),
    "ops_toil_pct": ((5, 35, 0), (55, 80, 0)),
    "slo_attainment_pct": ((99.90, 99.99, 2), (98.5, 99.4, 2)),
    "open_sev1_defects": ((0, 0, 0), (1, 2, 0)),
    "change_failure_rate_pct": ((2, 14, 1), (22, 35, 1)),
    "monitoring_coverage_pct": ((85, 99, 0), (60, 75, 0)),
    "deploy_success_rate_pct": ((95, 100, 1), (80, 90, 1)),
}
SOURCES = {"pages_per_week": "pagerduty", "ops_toil_pct": "ops-tickets",
           "slo_attainment_pct": "slo-exporter", "open_sev1_defects": "jira",
           "change_failure_rate_pct": "ci", "monitoring_coverage_pct": "prometheus",
           "deploy_success_rate_pct": "ci"}
ADJECTIVES = ("amber", "brisk", "cobalt", "dapper", "ember", "fable", "granite", "harbor",
              "indigo", "jasper", "kestrel", "lumen", "maple", "nimbus", "onyx", "pine",
              "quartz", "raven", "saffron", "tidal", "umber", "velvet", "willow", "zephyr")
NOUNS = ("checkout", "search", "ledger", "billing", "catalog", "identity", "inventory",
         "payments", "pricing", "routing", "shipping", "ratings", "media", "notify",
         "profile", "session", "gateway", "reports", "ads", "feeds", "maps", "quotes")
KINDS = ("api", "worker", "web", "sync", "store", "proxy", "cron", "stream")
FIRST = ("Ada", "Ben", "Chloé", "Dmitri", "Esi", "Farid", "Greta", "Hiro", "Ines", "Jonas",
         "Kavya", "Lars", "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
         "Uma", "Viktor", "Wen", "Xavi", "Yara", "Zoltan")
LAST = ("Abara", "Brandt", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
        "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor",
        "Petrov", "Quispe", "Raman", "Silva", "Tanaka", "Umarov", "Varga", "Wójcik", "Zhou")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL),
                        help=f"SQLAlchemy URL (default: $DATABASE_URL or {DEFAULT_URL})")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full size (default 1; 0.01 for a quick run)")
    parser.add_argument("--seed", type=int, default=6, help="random seed (default 6)")
    parser.add_argument("--token-file", default=None,
                        help="where the API token goes (default bench/token.txt, "
                             "bench/token-postgresql.txt on PostgreSQL)")
    parser.add_argument("--replace", action="store_true",
                        help="delete an existing SQLite file first (PostgreSQL: use a fresh "
                             "database)")
    return parser.parse_args(argv)


def absolute_sqlite_url(url):
    """sqlite:///relative/path -> sqlite:////absolute/path (relative to the current folder)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(Path.cwd() / url[len(prefix):])
    return url


def sqlite_path(url):
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) else None


class Progress:
    """A one-line counter per stage; no dependency."""

    def __init__(self, label, total):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = self.last = time.monotonic()
        self.tty = sys.stdout.isatty()

    def add(self, n):
        self.done += n
        now = time.monotonic()
        if self.tty and now - self.last > 0.2:
            self.last = now
            print(f"\r  {self.label}: {self.done:,}/{self.total:,} "
                  f"({100 * self.done / self.total:.0f} %)", end="", flush=True)

    def close(self):
        took = time.monotonic() - self.started
        print(f"\r  {self.label}: {self.done:,} rows in {took:.1f} s" + " " * 20, flush=True)


def bulk_insert(table, rows, label):
    progress = Progress(label, len(rows))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        db.session.execute(insert(table), chunk)
        progress.add(len(chunk))
    db.session.commit()
    progress.close()


# --- the story ------------------------------------------------------------------------


@dataclass
class Person:
    id: int
    email: str
    name: str


@dataclass
class ReviewPlan:
    service: "ServicePlan"
    stage: str  # launch | handoff
    state: str
    start: float  # days since the start of the story
    end: float
    had_changes: bool = False
    id: int = 0


@dataclass
class ServicePlan:
    id: int
    slug: str
    name: str
    team: int
    tier: int
    state: str
    created: float
    launched: float | None = None
    ended: float | None = None  # retired at
    cycles: int = 0
    handed_off: bool = False
    fact_weight: float = 1.0
    is_failing: bool = False
    events: list = field(default_factory=list)


class Story:
    """Builds every row in memory (facts excepted: they stream), then writes them."""

    def __init__(self, scale, seed, now):
        self.rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
        self.now = now
        self.t0 = now - timedelta(days=HISTORY_DAYS)
        self.sizes = {k: round(max(v * scale, 1)) for k, v in FULL.items()}
        self.sizes["members_per_team"] = FULL["members_per_team"]  # a team stays a team
        self.sizes["teams"] = max(self.sizes["teams"], 2)
        self.sizes["services"] = max(self.sizes["services"], 20)
        self.sizes["consultants"] = max(self.sizes["consultants"], 2)
        self.sizes["ops_leads"] = max(self.sizes["ops_leads"], 2)
        self.sizes["admins"] = max(self.sizes["admins"], 1)
        self.audit = []  # (at datetime, order, fields)
        self.reviews = []
        self.answers = []
        self.decisions = []
        self.events = []

    def at(self, days):
        return self.t0 + timedelta(days=days)

    def log(self, days, action, actor, subject_type, subject, **changes):
        """An audit entry to write; `subject` is an id or an object whose id comes later."""
        self.audit.append((self.at(days), len(self.audit), action, actor, subject_type,
                           subject, changes))

    # people and teams

    def people(self, password_hash):
        rng = self.rng
        teams, users, memberships = [], [], []
        for i in range(self.sizes["teams"]):
            name = f"{ADJECTIVES[i % len(ADJECTIVES)].title()} {NOUNS[i % len(NOUNS)].title()}"
            teams.append({"id": i + 1, "slug": f"team-{i + 1:03d}", "name": f"{name} {i + 1}",
                          "created_at": self.at(0)})
            self.log(0, "team:create", None, "team", i + 1, slug=f"team-{i + 1:03d}",
                     name=f"{name} {i + 1}")
        self.members = {team["id"]: [] for team in teams}
        roles_of = []
        for team in teams:
            roles_of += [((), team)] * self.sizes["members_per_team"]
        roles_of += [(("consultant",), None)] * self.sizes["consultants"]
        roles_of += [(("ops_lead",), None)] * self.sizes["ops_leads"]
        roles_of += [(("admin",), None)] * self.sizes["admins"]
        self.consultants, self.ops_leads, self.admins = [], [], []
        for n, (roles, team) in enumerate(roles_of, start=1):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"user{n:05d}@example.com"
            team_slugs = []
            if team is not None:
                memberships.append({"team_id": team["id"], "user_id": n})
                self.members[team["id"]].append(Person(n, email, name))
                team_slugs.append(team["slug"])
                if rng.random() < 0.05:  # some people belong to a second team
                    other = rng.choice(teams)
                    if other is not team:
                        memberships.append({"team_id": other["id"], "user_id": n})
                        team_slugs.append(other["slug"])
            users.append({"id": n, "email": email, "name": name, "password_hash": password_hash,
                          "is_consultant": "consultant" in roles,
                          "is_ops_lead": "ops_lead" in roles, "is_admin": "admin" in roles,
                          "is_disabled": False, "session_nonce": "", "created_at": self.at(0)})
            person = Person(n, email, name)
            if "consultant" in roles:
                self.consultants.append(person)
            elif "ops_lead" in roles:
                self.ops_leads.append(person)
            elif "admin" in roles:
                self.admins.append(person)
            self.log(0.001, "user:create", None, "user", n, email=email, name=name,
                     roles=sorted(roles), teams=sorted(team_slugs))
        self.people_by_id = {u["id"]: Person(u["id"], u["email"], u["name"]) for u in users}
        return teams, users, memberships

    # services and their histories

    def services(self):
        rng, n = self.rng, self.sizes["services"]
        states = []
        for state, share in STATE_SHARES:
            states += [state] * round(share * n)
        states = (states + ["self_managed"] * n)[:n]
        rng.shuffle(states)
        plans = []
        for i, state in enumerate(states, start=1):
            slug = f"{rng.choice(NOUNS)}-{rng.choice(KINDS)}-{i}"
            created = (rng.uniform(400, HISTORY_DAYS - 20) if state == "development"
                       else rng.uniform(1, 900))
            tier = rng.choices((1, 2, 3), (2, 5, 3))[0]
            plans.append(ServicePlan(i, slug, slug.replace("-", " ").title(),
                                     rng.randint(1, self.sizes["teams"]), tier, state, created))
        # The first ops-managed service is the long-lived one with the longest timeline.
        star = next(p for p in plans if p.state == "ops_managed")
        star.created, star.slug, star.name = 1.0, "checkout-api", "Checkout API"
        star.tier = 1
        self.star = star
        self.plan_cycles(plans)
        return plans

    def plan_cycles(self, plans):
        """Share handoff/handback round trips so the events reach their target."""
        rng = self.rng
        base = 0
        for p in plans:
            p.launched = None if p.state == "development" else p.created + rng.uniform(20, 90)
            if p.state == "retired":
                if rng.random() < 0.15:
                    p.launched = None
                p.ended = rng.uniform((p.launched or p.created) + 30, HISTORY_DAYS - 5)
                p.handed_off = p.launched is not None and rng.random() < 0.4
                base += 1 + (p.launched is not None) + p.handed_off
            else:
                p.handed_off = p.state == "ops_managed"
                base += {"development": 0, "self_managed": 1, "ops_managed": 2}[p.state]
        live = [p for p in plans if p.state in ("self_managed", "ops_managed")]
        weights = [rng.paretovariate(1.3) for _ in live]
        star_index = live.index(self.star)
        weights[star_index] = max(weights) * 3
        cycles = max(0, (self.sizes["events"] - base) // 2)
        room = [max(0, int(((HISTORY_DAYS - 3 - p.launched) / 8 - 1) / 2)) for p in live]
        picks = rng.choices(range(len(live)), weights, k=cycles * 2)
        for index in picks:
            if cycles == 0:
                break
            if live[index].cycles < room[index]:
                live[index].cycles += 1
                cycles -= 1
        for p, w in zip(live, weights, strict=True):
            p.fact_weight = w

    def service_rows(self, plans):
        rows = []
        for p in plans:
            author = self.rng.choice(self.members[p.team]) if self.members[p.team] else None
            values = {"name": p.name, "tier": p.tier,
                      "description": f"{p.name} serves {p.slug.split('-')[0]} traffic for "
                                     f"team {p.team}. See the runbook for on-call notes.",
                      "repo_url": f"https://git.example.com/team-{p.team:03d}/{p.slug}",
                      "runbook_url": f"https://runbooks.example.com/{p.slug}",
                      "dashboard_url": f"https://grafana.example.com/d/{p.slug}"}
            rows.append({"id": p.id, "slug": p.slug, "team_id": p.team, "state": p.state,
                         "created_at": self.at(p.created),
                         "updated_at": self.at(p.ended or p.created), **values})
            self.log(p.created, "service:create", author, "service", p.id, slug=p.slug,
                     team=f"team-{p.team:03d}", **values)
        return rows

    def histories(self, plans):
        """Reviews and events each service needs to be in its state."""
        rng = self.rng
        for p in plans:
            end = p.ended if p.state == "retired" else HISTORY_DAYS - 2
            if p.launched is None:
                if p.state == "retired":
                    self.event(p, "retire", p.ended, "development", "retired")
                continue
            launch_review = self.review(p, "launch", "approved", p.created + 2, p.launched - 0.5)
            self.event(p, "launch", p.launched, "development", "self_managed", launch_review)
            # Renewals keep the launch approval valid (365 days); a few lapse.
            t = p.launched + rng.uniform(320, 380)
            while t < end - 1:
                self.review(p, "launch", "approved", t - rng.uniform(8, 25), t)
                t += rng.uniform(320, 380)
            kinds = []
            if p.state == "ops_managed":
                kinds = ["handoff"] + ["handback", "handoff"] * p.cycles
            elif p.state == "self_managed":
                kinds = ["handoff", "handback"] * p.cycles
            elif p.handed_off:
                kinds = ["handoff"]
            if p.state == "retired":
                kinds.append("retire")
            gap = (end - p.launched) / (len(kinds) + 0.5) if kinds else 0
            previous, state = p.launched, "self_managed"
            for j, kind in enumerate(kinds, start=1):
                at = p.launched + gap * j + rng.uniform(-0.3, 0.3) * gap
                if kind == "retire":
                    at = p.ended
                review = None
                if kind == "handoff":
                    span = at - previous
                    review = self.review(p, "handoff", "approved", previous + 0.2 * span,
                                         at - 0.05 * span)
                to_state = {"handoff": "ops_managed", "handback": "self_managed",
                            "retire": "retired"}[kind]
                self.event(p, kind, at, state, to_state, review)
                previous, state = at, to_state
            assert state == p.state, (p, state)

    def optional_reviews(self, plans):
        """Open and withdrawn reviews until the reviews reach their target."""
        rng = self.rng
        missing = self.sizes["reviews"] - len(self.reviews)
        development = [p for p in plans if p.state == "development"]
        live = [p for p in plans if p.state in ("self_managed", "ops_managed")]
        rng.shuffle(development)
        rng.shuffle(live)
        opened = (development[:int(0.7 * len(development))] + live[:int(0.15 * len(live))])
        for p in opened:
            if missing <= 0:
                return
            state = rng.choices(("draft", "submitted", "changes_requested"), (5, 3, 2))[0]
            stage = "launch" if p.state == "development" or rng.random() < 0.6 else "handoff"
            if p.state == "ops_managed":
                stage = "launch"
            start = max(p.created + 1, HISTORY_DAYS - rng.uniform(5, 60))
            self.review(p, stage, state, start, HISTORY_DAYS - rng.uniform(0.05, 2))
            missing -= 1
        candidates = [p for p in plans]
        while missing > 0:
            p = rng.choice(candidates)
            last = p.ended or HISTORY_DAYS - 1
            start = rng.uniform(p.created + 1, max(p.created + 2, last - 10))
            stage = "launch" if p.launched is None or rng.random() < 0.7 else "handoff"
            self.review(p, stage, "withdrawn", start, start + rng.uniform(1, 10))
            missing -= 1

    def review(self, p, stage, state, start, end):
        plan = ReviewPlan(p, stage, state, start, max(end, start + 0.01),
                          had_changes=self.rng.random() < 0.35)
        self.reviews.append(plan)
        return plan

    def event(self, p, kind, at, from_state, to_state, review=None):
        p.events.append((kind, at, from_state, to_state, review))

    # turning plans into rows (after reviews are numbered in time order)

    def number_reviews(self):
        self.reviews.sort(key=lambda r: (r.start, r.service.id))
        for n, review in enumerate(self.reviews, start=1):
            review.id = n

    def review_rows(self, versions):
        rng = self.rng
        rows = []
        answer_id = decision_id = 0
        for r in self.reviews:
            version = versions[r.stage]
            p = r.service
            team = self.members[p.team] or [self.people_by_id[1]]
            author = rng.choice(team)
            span = r.end - r.start
            row = {"id": r.id, "service_id": p.id, "checklist_version_id": version.id,
                   "state": r.state, "created_by_id": author.id, "created_at": self.at(r.start),
                   "submitted_at": None, "first_submitted_at": None, "approved_at": None,
                   "content_hash": None, "updated_at": self.at(r.end), "version_id": 1}
            self.log(r.start, "review:start", author, "review", r.id, service=p.slug,
                     checklist=version.checklist_id, version=version.version)
            items = version.items
            if r.state in ("draft", "withdrawn"):
                items = items[:rng.randint(0, len(items))]
            answers = []
            saved_at = r.start + 0.15 * span
            for item in items:
                status = "met"
                if not item.get("required", True) and rng.random() < 0.3:
                    status = "not_applicable"
                if r.state == "changes_requested" and rng.random() < 0.15:
                    status = "not_met"
                if r.state in ("draft", "withdrawn") and rng.random() < 0.2:
                    status = None  # notes, no verdict yet
                    if item.get("evidence") == "none":
                        continue
                evidence = ("" if item.get("evidence") == "none" else
                            f"{item['title']}: checked on {self.at(saved_at):%Y-%m-%d}, "
                            f"see the runbook section '{item['id']}'.")
                if status == "not_applicable":
                    evidence = "Not relevant for this service: it has no such dependency."
                link = (f"https://wiki.example.com/{p.slug}/{item['id']}"
                        if item.get("evidence") == "link" and status else None)
                answer_id += 1
                answers.append({"id": answer_id, "review_id": r.id, "item_id": item["id"],
                                "status": status, "evidence": evidence, "link": link,
                                "answered_by_id": author.id, "updated_at": self.at(saved_at),
                                "version_id": 1})
            self.answers.extend(answers)
            if answers:
                self.log(saved_at, "review:save", author, "review", r.id,
                         answers={a["item_id"]: a["status"] for a in answers})
            if r.state in ("draft",):
                rows.append(row)
                continue
            if r.state == "withdrawn":
                self.log(r.end, "review:withdraw", author, "review", r.id)
                rows.append(row)
                continue
            consultant = rng.choice(self.consultants)
            first = r.start + 0.35 * span
            row["first_submitted_at"] = row["submitted_at"] = self.at(first)
            self.log(first, "review:submit", author, "review", r.id)
            if r.had_changes or r.state == "changes_requested":
                asked = r.start + (0.8 if r.state == "changes_requested" else 0.5) * span
                item = rng.choice(version.items)["id"]
                comment = "Please link the evidence for the items marked below."
                item_comments = {item: "The link goes to an empty page."}
                decision_id += 1
                self.decisions.append({
                    "id": decision_id, "review_id": r.id, "consultant_id": consultant.id,
                    "verdict": "request_changes", "comment": comment,
                    "item_comments": item_comments, "content_hash": None,
                    "created_at": self.at(asked)})
                self.log(asked, "review:request_changes", consultant, "review", r.id,
                         comment=comment, item_comments=item_comments, content_hash=None)
                if r.state != "changes_requested":
                    again = r.start + 0.7 * span
                    row["submitted_at"] = self.at(again)
                    self.log(again, "review:submit", author, "review", r.id)
            if r.state != "approved":
                rows.append(row)
                continue
            content = {
                "review": r.id, "service_id": p.id,
                "checklist": {"id": version.checklist_id, "version": version.version,
                              "content_hash": version.content_hash},
                "answers": sorted(({"item": a["item_id"], "status": a["status"],
                                    "evidence": a["evidence"], "link": a["link"]}
                                   for a in answers), key=lambda a: a["item"]),
            }
            signed = content_hash(content)
            comment = rng.choice(("Looks good.", "", "Approved: thanks for the thorough runbook."))
            row["approved_at"] = self.at(r.end)
            row["content_hash"] = signed
            decision_id += 1
            self.decisions.append({
                "id": decision_id, "review_id": r.id, "consultant_id": consultant.id,
                "verdict": "approve", "comment": comment, "item_comments": {},
                "content_hash": signed, "created_at": self.at(r.end)})
            self.log(r.end, "review:approve", consultant, "review", r.id, comment=comment,
                     item_comments={}, content_hash=signed)
            rows.append(row)
        return rows

    def event_rows(self, plans, handoff_items):
        rng = self.rng
        rows = []
        for p in plans:
            for kind, at, from_state, to_state, review in p.events:
                actor = rng.choice(self.ops_leads)
                reason = {
                    "launch": "", "handoff": "",
                    "handback": "Pages rose above five a week for a month and the error "
                                "budget is spent; the team takes the pager back.",
                    "retire": "Replaced by its successor; traffic is at zero.",
                }[kind]
                details = {"facts": {}, "failing_items": [], "return_conditions": "",
                           "return_items": [], "target_date": None}
                if kind == "handback":
                    observed = self.at(at - 1).isoformat()
                    pages = rng.randint(6, 14)
                    details = {
                        "facts": {"pages_per_week": {"value": float(pages),
                                                     "observed_at": observed,
                                                     "source": "pagerduty"},
                                  "slo_attainment_pct": {"value": 99.2, "observed_at": observed,
                                                         "source": "slo-exporter"}},
                        "failing_items": [{"item": "pager-load",
                                           "title": "Pager load stays supportable",
                                           "detail": f"pages_per_week is {pages}, "
                                                     "needs <= 5"}],
                        "return_conditions": "Pages at two a week or fewer for a month, and "
                                             "the SLO met again.",
                        "return_items": handoff_items[:2],
                        "target_date": (self.at(at) + timedelta(days=60)).date(),
                    }
                rows.append({"service_id": p.id, "kind": kind, "from_state": from_state,
                             "to_state": to_state, "actor_id": actor.id, "reason": reason,
                             "review_id": review.id if review else None,
                             "created_at": self.at(at), **details})
                target = details["target_date"]
                self.log(at, f"service:{kind}", actor, "service", p.id, from_state=from_state,
                         to_state=to_state, reason=reason,
                         review=review.id if review else None,
                         return_conditions=details["return_conditions"] or None,
                         return_items=details["return_items"] or None,
                         target_date=target.isoformat() if target else None)
        rows.sort(key=lambda r: r["created_at"])
        for n, row in enumerate(rows, start=1):
            row["id"] = n
        return rows

    # facts, streamed

    def fact_budget(self, plans):
        """How many facts each service gets: every name a few times, the rest by weight."""
        rng = self.rng
        total = self.sizes["facts"]
        floor = 7 * 3
        weights = {}
        failing_pool = [p for p in plans if p.state == "ops_managed" and p is not self.star]
        for p in rng.sample(failing_pool, k=int(0.08 * len(failing_pool))):
            p.is_failing = True
        for p in plans:
            factor = {"development": 0.2, "retired": 0.5}.get(p.state, 1.0)
            weights[p.id] = p.fact_weight * factor if p.state in ("self_managed",
                                                                  "ops_managed") else factor
        weights[self.star.id] = 0
        star_facts = min(int(0.02 * total), 20_000) if total >= 100_000 else int(0.05 * total)
        spare = max(0, total - floor * len(plans) - star_facts)
        cap = 15_000
        weight_sum = sum(weights.values())
        budget = {}
        for p in plans:
            budget[p.id] = floor + min(cap, int(spare * weights[p.id] / weight_sum))
        budget[self.star.id] = floor + star_facts
        # Rounding and the cap leave some over: give it to the busiest services.
        left = total - sum(budget.values())
        busiest = sorted(plans, key=lambda p: -weights[p.id])
        i = 0
        while left > 0 and busiest:
            p = busiest[i % min(len(busiest), 500)]
            add = min(left, 50)
            budget[p.id] += add
            left -= add
            i += 1
        return budget

    def facts(self, plans, budget):
        """Yield fact rows service by service: readings per name, newest first."""
        rng = self.rng
        names = list(FACTS)
        for p in plans:
            count = budget[p.id]
            begin = p.created + 1
            if p.state == "retired":
                end = p.ended
            elif p.state == "development":
                end = HISTORY_DAYS - rng.uniform(0, 20)
            else:  # live: fresh readings, the handback checks need them within 7 days
                end = HISTORY_DAYS - rng.uniform(0.01, 0.9)
            per_name = [count // len(names)] * len(names)
            for i in range(count % len(names)):
                per_name[i] += 1
            for name, n in zip(names, per_name, strict=True):
                (low, high, decimals), (bad_low, bad_high, _) = FACTS[name]
                interval = (end - begin) / max(n, 1)
                value = round(rng.uniform(low, high), decimals)
                failing_now = p.is_failing and name in ("pages_per_week", "slo_attainment_pct")
                for j in range(n):
                    # Newest first; each reading in its own slot, so times never repeat.
                    t = end if j == 0 else end - (j + rng.uniform(0, 0.5)) * interval
                    if rng.random() < 0.25:
                        value = round(rng.uniform(low, high), decimals)
                    shown = value
                    if failing_now and j < 3:
                        shown = round(rng.uniform(bad_low, bad_high), decimals)
                    observed = self.t0 + timedelta(seconds=int(t * 86400))
                    yield {"service_id": p.id, "name": name, "value": float(shown),
                           "observed_at": observed, "source": SOURCES[name],
                           "recorded_at": observed + timedelta(seconds=rng.randint(1, 90))}

    # the record

    def audit_rows(self, after_seq, after_hash):
        """Entries in time order, chained from the last existing entry."""
        self.audit.sort(key=lambda e: (e[0], e[1]))
        rows = []
        prev_hash = after_hash
        for seq, (at, _order, action, actor, subject_type, subject, changes) in enumerate(
                self.audit, start=after_seq + 1):
            entry = SimpleNamespace(
                seq=seq, created_at=at, actor_id=actor.id if actor else None,
                actor_name=actor.name if actor else "system",
                actor_email=actor.email if actor else "", action=action,
                subject_type=subject_type, subject_id=str(subject), changes=changes,
                prev_hash=prev_hash)
            entry.hash = entry_hash(entry)
            prev_hash = entry.hash
            rows.append(vars(entry))
        return rows


@dataclass(frozen=True)
class Version:
    id: int
    checklist_id: str
    version: int
    content_hash: str
    items: list


def synced_versions():
    versions = {}
    for row in db.session.scalars(select(ChecklistVersion).order_by(ChecklistVersion.version)):
        items = [item for section in row.content["sections"] for item in section["items"]]
        versions[row.stage] = Version(row.id, row.checklist_id, row.version, row.content_hash,
                                      items)
    return versions


def reset_sequences():
    """After explicit ids: PostgreSQL's sequences must continue after them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("team", "user", "service", "review", "answer", "decision",
                  "management_event", "audit_entry", "fact"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
            f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))"))
    db.session.commit()


# Measured per unit of --scale at 10 on 2 cores (bench/README.md): seconds on each
# database, memory at the peak and the database's size, in GB.
PER_SCALE = {"sqlite": (40, 0.54, 0.38), "postgresql": (175, 0.54, 0.42)}


def expectations(scale, dialect):
    """What a run of `scale` will take, as measured, for a person to plan by."""
    seconds, memory, disk = (value * scale for value in PER_SCALE[dialect])
    return (f"Scale {scale:g}: about {round(10_000 * scale):,} services; expect ~"
            f"{max(seconds / 60, 0.1):.1f} min, ~{memory:.1f} GB of memory and ~{disk:.1f} GB "
            "of disk (as measured on 2 cores; bench/README.md). It cannot resume: a run "
            "stopped half-way needs --replace or a fresh database.")


def generate(url, scale=1.0, seed=6, replace=False, token_file=None):
    started = time.monotonic()
    url = absolute_sqlite_url(url)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"Database: {url}")
    print(expectations(scale, "sqlite" if path is not None else "postgresql"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "AUTO_MIGRATE": True,
                      "SECRET_KEY": "bench-generate"})
    now = datetime.now(UTC).replace(microsecond=0)
    story = Story(scale, seed, now)
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(Service)):
            sys.exit("The database already has services: use --replace (SQLite) or a fresh "
                     "database.")
        with clock_at(story.t0 - timedelta(days=1)):
            result = operations.sync_checklists([app.config["CHECKLISTS_DIR"]])
        if result.errors:
            sys.exit("Checklist errors:\n" + "\n".join(map(str, result.errors)))
        db.session.commit()
        versions = synced_versions()
        password_hash = operations.hash_password(BENCH_PASSWORD)

        print("Planning the organisation …")
        teams, users, memberships = story.people(password_hash)
        plans = story.services()
        services = story.service_rows(plans)
        story.histories(plans)
        story.optional_reviews(plans)
        story.number_reviews()
        reviews = story.review_rows(versions)
        events = story.event_rows(plans, [i["id"] for i in versions["handoff"].items])

        print("Writing …")
        bulk_insert(Team.__table__, teams, "teams")
        bulk_insert(User.__table__, users, "users")
        bulk_insert(team_membership, memberships, "team memberships")
        bulk_insert(Service.__table__, services, "services")
        bulk_insert(Review.__table__, reviews, "reviews")
        bulk_insert(Answer.__table__, story.answers, "answers")
        bulk_insert(Decision.__table__, story.decisions, "decisions")
        bulk_insert(ManagementEvent.__table__, events, "management events")

        budget = story.fact_budget(plans)
        progress = Progress("facts", sum(budget.values()))
        chunk = []
        newest = {}  # (service, name) -> its newest reading, for latest_fact
        for row in story.facts(plans, budget):
            chunk.append(row)
            key = (row["service_id"], row["name"])
            if key not in newest or row["observed_at"] > newest[key]["observed_at"]:
                newest[key] = row
            if len(chunk) >= CHUNK:
                db.session.execute(insert(Fact.__table__), chunk)
                progress.add(len(chunk))
                chunk = []
        if chunk:
            db.session.execute(insert(Fact.__table__), chunk)
            progress.add(len(chunk))
        db.session.commit()
        progress.close()
        bulk_insert(LatestFact.__table__, [
            {"service_id": r["service_id"], "name": r["name"], "value": r["value"],
             "observed_at": r["observed_at"], "source": r["source"]} for r in newest.values()],
            "latest facts")

        print("Keeping the worklists' moments …")
        refresh_worklists()
        db.session.commit()

        last = db.session.execute(select(AuditEntry.seq, AuditEntry.hash)
                                  .order_by(AuditEntry.seq.desc()).limit(1)).first()
        audit_rows = story.audit_rows(*(last if last else (0, GENESIS_HASH)))
        bulk_insert(AuditEntry.__table__, audit_rows, "audit entries")
        reset_sequences()

        # The bench account goes through the app's own use cases (and the record).
        admin = operations.create_user(email="admin@example.com", name="Bench Admin",
                                       password=BENCH_PASSWORD, roles=("admin",),
                                       min_password_length=4)
        db.session.flush()
        _row, token = create_token(admin, name="bench", actor=admin)
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            # What autovacuum would have done by the time anyone looks.
            db.session.commit()
            with db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model
                  in (("teams", Team), ("users", User), ("services", Service),
                      ("reviews", Review), ("answers", Answer), ("decisions", Decision),
                      ("facts", Fact), ("latest facts", LatestFact),
                      ("management events", ManagementEvent),
                      ("audit entries", AuditEntry))}
        by_state = dict(db.session.execute(select(Service.state, func.count())
                                           .group_by(Service.state)).all())
        review_states = dict(db.session.execute(select(Review.state, func.count())
                                                .group_by(Review.state)).all())
    token_file = Path(token_file or default_token_file(url))
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    print("Rows: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    print("Services by state: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_state.items())))
    print("Reviews by state: " + ", ".join(f"{k} {v:,}" for k, v in
                                           sorted(review_states.items())))
    print(f"Sign in as admin@example.com / {BENCH_PASSWORD}; API token in {token_file}:")
    print(f"  {token}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return counts


def main(argv=None):
    args = parse_args(argv)
    generate(args.database_url, scale=args.scale, seed=args.seed, replace=args.replace,
             token_file=args.token_file)


if __name__ == "__main__":
    main()
