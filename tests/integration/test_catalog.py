"""`flask catalog import` from descriptor files, through the CLI runner: the mapping of
docs/catalog.md, all or nothing, idempotent, audited, never deleting."""

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from readiness.cli.catalog import PROGRESS_FROM
from readiness.extensions import db
from readiness.models import AuditEntry, CatalogFileReading, Service, Team

from ..factories import make_service, make_team

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "data" / "catalog"


@pytest.fixture
def catalog(tmp_path):
    """A copy of the descriptor files, to change in a test."""
    return Path(shutil.copytree(CATALOG, tmp_path / "catalog"))


def entries():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def services():
    return {s.slug: s for s in db.session.scalars(select(Service))}


def test_a_folder_of_descriptors_becomes_teams_and_services(app, runner, catalog):
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 0, result.output
    assert ("Added 3, updated 0, unchanged 0, skipped 3, missing 0; teams: 2 added, "
            "0 updated.") in result.output
    teams = {t.slug: t.name for t in db.session.scalars(select(Team))}
    assert teams == {"payments": "Payments Team", "search": "Search"}
    found = services()
    assert set(found) == {"checkout", "ledger-core", "search-web"}
    checkout = found["checkout"]
    assert (checkout.name, checkout.team.slug, checkout.tier, checkout.state,
            checkout.catalog_lifecycle, checkout.from_catalog) == (
        "Checkout", "payments", 1, "development", "production", True)
    assert checkout.description == "Takes **payments** at the till."
    assert (checkout.repo_url, checkout.runbook_url, checkout.dashboard_url) == (
        "https://github.com/acme/checkout", "https://runbooks.example.com/checkout",
        "https://grafana.example.com/d/checkout")
    ledger = found["ledger-core"]
    assert (ledger.name, ledger.tier, ledger.repo_url, ledger.runbook_url) == (
        "ledger_core", 2, "https://git.example.com/payments/ledger", None)
    web = found["search-web"]
    assert (web.name, web.team.slug, web.tier, web.catalog_lifecycle) == (
        "Search website", "search", 3, "experimental")
    created = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(("service:create", "team:create")))).all()
    assert len(created) == 5 and all(e.changes["source"] == "catalog" for e in created)


def test_importing_the_same_catalog_again_changes_nothing(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    before = entries()
    again = runner.invoke(args=["catalog", "import", str(catalog)])
    assert again.exit_code == 0, again.output
    assert "Added 0, updated 0, unchanged 3, skipped 3, missing 0" in again.output
    assert entries() == before


def test_a_changed_title_owner_tier_or_link_is_updated_and_audited(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    path = catalog / "payments" / "catalog-info.yaml"
    text = path.read_text()
    text = text.replace("title: Checkout", "title: Checkout v2").replace(
        'readiness/tier: "1"', 'readiness/tier: "2"').replace(
        "owner: group:default/payments\n  system", "owner: group:default/search\n  system")
    path.write_text(text.replace("https://runbooks.example.com/checkout",
                                 "https://wiki.example.com/checkout-runbook"))
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert "Added 0, updated 1, unchanged 2" in result.output, result.output
    checkout = services()["checkout"]
    assert (checkout.name, checkout.tier, checkout.team.slug, checkout.runbook_url) == (
        "Checkout v2", 2, "search", "https://wiki.example.com/checkout-runbook")
    (update,) = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "service:update")).all()
    assert update.changes == {
        "source": "catalog", "name": {"old": "Checkout", "new": "Checkout v2"},
        "tier": {"old": 1, "new": 2}, "team": {"old": "payments", "new": "search"},
        "runbook_url": {"old": "https://runbooks.example.com/checkout",
                        "new": "https://wiki.example.com/checkout-runbook"}}


def test_one_bad_entity_stores_nothing_and_names_its_line(app, runner, catalog):
    bad = catalog / "payments" / "bad.yaml"
    bad.write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
                   "  name: Bad Name!\nspec:\n  type: service\n  owner: payments\n")
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 1
    assert f"{bad}:4: metadata.name: 'bad name!' is not a slug" in result.output
    assert "nothing was imported" in result.output
    assert services() == {} and entries() == 0
    assert db.session.scalar(select(func.count()).select_from(Team)) == 0


@pytest.mark.parametrize(("document", "line", "message"), [
    ("kind: Component\nmetadata:\n  name: a\nspec:\n  type: service\n", 4,
     "spec.owner is missing"),
    ("kind: Component\nmetadata:\n  name: a\n  annotations:\n    readiness/tier: high\n"
     "spec:\n  type: service\n  owner: payments\n", 5, "the tier is 1 (most critical), 2 or 3"),
    ("kind: Component\nmetadata:\n  name: a\n  links:\n    - url: ftp://x.example.com\n"
     "      type: runbook\nspec:\n  type: service\n  owner: payments\n", 5,
     "the runbook link must be a full http:// or https:// address"),
    ("kind: Component\nmetadata:\n  name: a\nspec:\n  type: service\n  owner: user:jane\n", 6,
     "spec.owner 'user:jane' is not a group"),
    ("kind: Component\nmetadata:\n  name: a\n  name: b\nspec:\n  type: service\n", 4,
     "duplicate key 'name' (first at line 3)"),
    ("kind: Component\nmetadata: [a, b\n", 2, "YAML syntax error"),
    ("kind: Component\nmetadata:\n  name: 7\nspec:\n  type: service\n", 3,
     "metadata.name must be text, not a number"),
    ("kind: Component\nmetadata:\n  name: nobody-owns\nspec:\n  type: service\n"
     "  owner: group:default/nobody\n", 3, "owner 'nobody' is neither a group of the catalog"),
    ("kind: Component\nmetadata:\n  name: Ledger.Core\nspec:\n  type: service\n"
     "  owner: payments\n", 3, "a second component named 'ledger-core' after mapping"),
    ("kind: Component\nmetadata:\n  name: a\n  tags: &t [x]\n  labels: *t\n", 5,
     "YAML aliases (*name) are not supported"),
])
def test_each_mistake_is_a_clear_line(app, runner, catalog, document, line, message):
    bad = catalog / "bad.yaml"
    bad.write_text(document)
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 1
    assert f"{bad}:{line}" in result.output and message in result.output, result.output
    assert services() == {}


def test_every_error_of_a_run_is_reported(app, runner, catalog):
    (catalog / "one.yaml").write_text("kind: Component\nmetadata:\n  name: a b\nspec:\n"
                                      "  type: service\n  owner: payments\n")
    (catalog / "two.yaml").write_text("kind: Group\nmetadata:\n  name: c d\n")
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 1 and "2 error(s)" in result.output
    assert "one.yaml:3:" in result.output and "two.yaml:3:" in result.output


def test_an_unknown_owner_becomes_a_team_when_asked(app, runner, catalog):
    (catalog / "groups.yaml").unlink()
    refused = runner.invoke(args=["catalog", "import", str(catalog)])
    assert refused.exit_code == 1 and "--create-teams adds it" in refused.output
    result = runner.invoke(args=["catalog", "import", "--create-teams", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "teams: 2 added" in result.output
    assert {t.slug for t in db.session.scalars(select(Team))} == {"payments", "search"}


def test_existing_teams_own_services_and_a_hand_made_service_is_taken_over(app, runner,
                                                                           catalog):
    payments = make_team(slug="payments", name="Payments Team")
    make_service(slug="checkout", name="Checkout", team=payments, tier=1)
    db.session.commit()
    (catalog / "groups.yaml").unlink()
    (catalog / "search").joinpath("catalog-info.yaml").unlink()
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "Added 1, updated 1, unchanged 0" in result.output
    checkout = services()["checkout"]
    assert checkout.from_catalog and checkout.repo_url == "https://github.com/acme/checkout"


def test_a_dry_run_says_what_would_change_and_changes_nothing(app, runner, catalog):
    result = runner.invoke(args=["catalog", "import", "--dry-run", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "new: checkout, ledger-core, search-web" in result.output
    assert "Would add 3" in result.output and "Dry run: nothing was changed." in result.output
    assert services() == {} and entries() == 0


def kept_readings():
    return {r.key: r.reading for r in db.session.scalars(select(CatalogFileReading))}


def test_an_unchanged_file_is_taken_from_what_the_last_import_read(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    kept = kept_readings()
    assert len(kept) == 3  # one Reading a file
    # Proof that the second run does not parse the file again: it takes what was kept.
    row = next(r for r in db.session.scalars(select(CatalogFileReading))
               if any(c[0] == "checkout" for c in r.reading["components"]))
    row.reading = {**row.reading, "components": [
        [c[0], "Checkout (as kept)", *c[2:]] if c[0] == "checkout" else c
        for c in row.reading["components"]]}
    db.session.commit()
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert "Added 0, updated 1, unchanged 2, skipped 3" in result.output, result.output
    assert services()["checkout"].name == "Checkout (as kept)"
    assert kept_readings().keys() == kept.keys()  # marked used, nothing added


def test_a_hand_edit_is_put_back_even_when_the_files_are_unchanged(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    services()["checkout"].tier = 3
    db.session.commit()
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert "Added 0, updated 1, unchanged 2" in result.output, result.output
    assert services()["checkout"].tier == 1


def test_a_changed_file_is_read_again_and_its_old_reading_expires(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    before = kept_readings()
    path = catalog / "payments" / "catalog-info.yaml"
    path.write_text(path.read_text().replace("title: Checkout", "title: Checkout v2"))
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    after = kept_readings()
    assert len(after) == 4 and len(after.keys() - before.keys()) == 1
    assert services()["checkout"].name == "Checkout v2"


def test_the_same_file_twice_is_a_duplicate_named_at_both_paths_when_kept(
        app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    copy = catalog / "copy.yaml"
    shutil.copy(catalog / "search" / "catalog-info.yaml", copy)
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 1
    first = catalog / "search" / "catalog-info.yaml"
    assert (f"{first}:" in result.output and f"a second component named 'search-web' after "
            f"mapping (the first is at {copy}:") in result.output, result.output


def test_a_dry_run_or_a_refused_run_keeps_no_reading(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", "--dry-run", str(catalog)]).exit_code == 0
    (catalog / "bad.yaml").write_text("kind: Component\nmetadata: {name: Bad Name!}\n")
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 1
    assert kept_readings() == {}


def test_services_gone_from_the_catalog_are_reported_never_deleted(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    (catalog / "search" / "catalog-info.yaml").unlink()
    result = runner.invoke(args=["catalog", "import", str(catalog)])
    assert result.exit_code == 0
    assert "no longer in the catalog (kept): search-web" in result.output
    assert "missing 1" in result.output and "search-web" in services()


def test_an_import_never_changes_a_management_state(app, runner, catalog):
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    services()["checkout"].state = "ops_managed"
    db.session.commit()
    path = catalog / "payments" / "catalog-info.yaml"
    path.write_text(path.read_text().replace("lifecycle: production", "lifecycle: deprecated"))
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    checkout = services()["checkout"]
    assert (checkout.state, checkout.catalog_lifecycle) == ("ops_managed", "deprecated")


def test_a_source_that_is_not_there_is_a_clear_error(app, runner, tmp_path):
    result = runner.invoke(args=["catalog", "import", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no such file or folder" in result.output


# --- a Backstage backend: a small server on loopback, shaped like the documented API ---

TOKEN = "backstage-secret-token"


def entity(kind, name, **spec):
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


GROUPS = [entity("Group", "payments", type="team", profile={"displayName": "Payments"})]
COMPONENTS = [entity("Component", f"svc-{n}", type="service", lifecycle="production",
                     owner="group:default/payments") for n in range(5)]


@pytest.fixture
def backend():
    """(base URL, the requests it saw); pages of two entities, cursors between them, 401
    without the token."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    seen = []
    pages = {}  # cursor -> (kind, offset)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            seen.append((url.path, query, self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer(401, {"error": {"name": "AuthenticationError",
                                                   "message": "Missing credentials"}})
            if url.path != "/api/catalog/entities/by-query":
                return self.answer(404, {"error": {"name": "NotFoundError"}})
            if "cursor" in query:
                kind, offset = pages[query["cursor"]]
            else:
                kind, offset = query["filter"].removeprefix("kind="), 0
            every = {"group": GROUPS, "component": COMPONENTS}[kind]
            items = every[offset:offset + 2]
            info = {}
            if offset + 2 < len(every):
                cursor = f"c-{kind}-{offset + 2}"
                pages[cursor] = (kind, offset + 2)
                info["nextCursor"] = cursor
            if offset:
                info["prevCursor"] = f"c-{kind}-{offset - 2}"
            return self.answer(200, {"items": items, "totalItems": len(every),
                                     "pageInfo": info})

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_backend_is_read_page_by_page_following_every_cursor(app, runner, backend):
    url, seen = backend
    result = runner.invoke(args=["catalog", "import", url], env={"BACKSTAGE_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "Added 5, updated 0, unchanged 0, skipped 0, missing 0; teams: 1 added" \
        in result.output
    assert set(services()) == {f"svc-{n}" for n in range(5)}
    cursors = [query.get("cursor") for path, query, _ in seen if "cursor" in query]
    assert cursors == ["c-component-2", "c-component-4"]
    assert seen[0][1]["filter"] == "kind=group"
    assert TOKEN not in result.output
    again = runner.invoke(args=["catalog", "import", "--token", TOKEN, url])
    assert "Added 0, updated 0, unchanged 5" in again.output


def test_a_refused_token_is_a_clear_message_and_stores_nothing(app, runner, backend):
    url, _ = backend
    result = runner.invoke(args=["catalog", "import", "--token", "wrong", url])
    assert result.exit_code == 1
    assert "the backend refused the request (401 Unauthorized)" in result.output
    assert "--token or BACKSTAGE_TOKEN" in result.output and "wrong" not in result.output
    assert services() == {} and entries() == 0


def test_a_bad_entity_from_a_backend_is_named_by_its_reference(app, runner, backend,
                                                              monkeypatch):
    url, _ = backend
    monkeypatch.setitem(COMPONENTS[3]["spec"], "owner", "user:jane")
    result = runner.invoke(args=["catalog", "import", "--token", TOKEN, url])
    assert result.exit_code == 1
    assert f"{url} component:default/svc-3: spec.owner 'user:jane' is not a group" \
        in result.output
    assert services() == {}


def test_an_address_that_is_not_a_backend_is_a_clear_message(app, runner, backend):
    url, _ = backend
    result = runner.invoke(args=["catalog", "import", "--token", TOKEN, url + "/nothing"])
    assert result.exit_code == 1 and "404" in result.output
    closed = runner.invoke(args=["catalog", "import", "http://127.0.0.1:9"])
    assert closed.exit_code == 1 and "cannot reach it" in closed.output


# --- in production per the catalog, no launch review ---


def test_services_in_production_per_the_catalog_and_never_launched_are_shown(
        app, runner, client, catalog):
    from readiness.commands.tokens import create_token

    from ..factories import make_user

    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    lead = make_user(email="lead@example.com", roles=("ops_lead",))
    _, token = create_token(lead, name="t", actor=lead)
    services()["ledger-core"].state = "self_managed"  # launched here since
    db.session.commit()
    # checkout: production, in development -> shown; search-web: experimental -> not.
    api = client.get("/api/v1/unreviewed-in-production",
                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert api.get_json() == {"total": 1, "services": [{
        "slug": "checkout", "name": "Checkout", "team": "payments", "tier": 1,
        "state": "development", "links": {
            "repo": "https://github.com/acme/checkout",
            "runbook": "https://runbooks.example.com/checkout",
            "dashboard": "https://grafana.example.com/d/checkout"}}]}
    assert client.get("/api/v1/unreviewed-in-production").status_code == 401

    assert client.post("/login", data={"email": "lead@example.com",
                                       "password": "correct horse"}).status_code == 302
    home = client.get("/").get_data(as_text=True)
    panel = home[home.index('id="unreviewed-title"'):home.index('id="expiring-title"')]
    assert 'href="/services/checkout"' in panel and "ledger" not in panel.lower()
    assert "search-web" not in panel and '<span class="count">1</span>' in panel
    listed = client.get("/services/?unreviewed=1").get_data(as_text=True)
    assert 'href="/services/checkout"' in listed and 'href="/services/search-web"' not in listed
    assert 'id="unreviewed" name="unreviewed" value="1" checked' in listed
    wrong = client.get("/services/?unreviewed=yes").get_data(as_text=True)
    assert "is not a choice for the unreviewed filter" in wrong


def test_the_openapi_document_has_the_unreviewed_list(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/unreviewed-in-production" in document["paths"]


def test_the_admin_page_shows_the_last_import_and_the_ones_before(app, runner, client,
                                                                  catalog):
    from ..factories import make_user

    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 0
    (catalog / "bad.yaml").write_text("kind: Component\nmetadata:\n  name: a b\nspec:\n"
                                      "  type: service\n  owner: payments\n")
    assert runner.invoke(args=["catalog", "import", str(catalog)]).exit_code == 1
    make_user(email="admin@example.com", roles=("admin",))
    make_user(email="member@example.com")
    db.session.commit()
    assert client.post("/login", data={"email": "member@example.com",
                                       "password": "correct horse"}).status_code == 302
    assert client.get("/admin/catalog").status_code == 403
    client.post("/logout")
    assert client.post("/login", data={"email": "admin@example.com",
                                       "password": "correct horse"}).status_code == 302
    text = client.get("/admin/catalog").get_data(as_text=True)
    last = text[text.index('id="last-import"'):text.index('id="earlier-imports"')]
    assert "refused" in last and "1 error(s): nothing was imported." in last
    assert f"{catalog / 'bad.yaml'}:3: metadata.name: &#39;a b&#39; is not a slug" in last
    assert f"<code>{catalog}</code>" in last and "the command line (" in last
    earlier = text[text.index('id="earlier-imports"'):]
    assert "imported" in earlier and '<td class="num">3</td>' in earlier


def test_a_refused_token_is_kept_as_a_refused_run_without_the_token(app, runner, backend):
    from readiness.models import CatalogImport

    url, _ = backend
    assert runner.invoke(args=["catalog", "import", "--token", "wrong-secret", url]).exit_code == 1
    run = db.session.scalars(select(CatalogImport)).one()
    assert (run.outcome, run.sources, run.error_count) == ("refused", [url], 1)
    assert "401" in run.errors[0] and "wrong-secret" not in str(run.errors)


# --- flask export ---


def test_export_writes_every_table_as_json_lines_without_secrets(app, runner, tmp_path):
    import json

    from readiness.commands.tokens import create_token
    from readiness.models import User

    assert runner.invoke(args=["demo"]).exit_code == 0
    user = db.session.scalars(select(User)).first()
    _, token = create_token(user, name="export", actor=user)
    db.session.commit()
    from readiness.models import ApiToken

    digest = db.session.scalars(select(ApiToken.digest)).one()
    secrets_held = {user.password_hash, token, digest}
    result = runner.invoke(args=["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = {p.stem: p for p in (tmp_path / "out").glob("*.jsonl")}
    expected = {t.name for t in db.metadata.sorted_tables} - {"login_attempt"}
    assert set(files) == expected
    for name, path in files.items():
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        count = db.session.scalar(select(func.count()).select_from(db.metadata.tables[name]))
        assert len(rows) == count, name
        assert f"{name}: {count:,} row(s)" in result.output
    users = [json.loads(line) for line in files["user"].read_text().splitlines()]
    assert users and all("password_hash" not in u and "session_nonce" not in u for u in users)
    tokens = [json.loads(line) for line in files["api_token"].read_text().splitlines()]
    assert tokens and all("digest" not in t for t in tokens)
    everything = "".join(p.read_text() for p in files.values())
    assert not any(secret in everything for secret in secrets_held)
    assert json.loads(files["audit_entry"].read_text().splitlines()[0])["seq"] == 1
    again = runner.invoke(args=["export", str(tmp_path / "out")])
    assert again.exit_code == 1 and "is not empty" in again.output


@pytest.mark.slow
def test_a_large_import_on_a_terminal_draws_a_progress_bar(tmp_path):
    """The real command on a pseudo-terminal: a bar for 500 components or more, none when
    the output is a pipe."""
    folder = tmp_path / "large"
    folder.mkdir()
    (folder / "group.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: big}\n"
        "spec: {type: team, children: []}\n")
    (folder / "components.yaml").write_text("---\n".join(
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: svc-{i}}}\n"
        f"spec: {{type: service, lifecycle: production, owner: group:default/big}}\n"
        for i in range(PROGRESS_FROM)))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "SECRET_KEY": "x", "COLUMNS": "80"}
    command = [Path(sys.executable).with_name("flask"), "--app", "app", "catalog", "import",
               str(folder)]
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, stdin=terminal, stdout=terminal,
                              stderr=subprocess.PIPE, timeout=120)
        os.close(terminal)
        terminal = None
        shown = b""
        while chunk := _read_some(controller):
            shown += chunk
    finally:
        os.close(controller)
        if terminal is not None:
            os.close(terminal)
    assert done.returncode == 0, done.stderr
    text = shown.decode()
    assert "Importing" in text and "100%" in text and "#" in text, text
    assert f"Added {PROGRESS_FROM}," in text
    piped = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert piped.returncode == 0 and "Importing" not in piped.stdout
    assert f"unchanged {PROGRESS_FROM}," in piped.stdout


def _read_some(fd):
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other end is closed and all was read
        return b""
