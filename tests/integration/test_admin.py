"""The admin pages: users, teams and checklist status, for admins only."""

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, func, select
from werkzeug.security import check_password_hash

from readiness.extensions import db
from readiness.models import AuditEntry, Team, User, team_membership

from ..factories import make_checklist_version, make_service, make_team, make_user

PASSWORD = "correct horse"


class _Tables(HTMLParser):
    """The text of each table row's cells, in page order."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(response):
    parser = _Tables()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


def row_starting(response, first_cell):
    matches = [row for row in table_rows(response) if row and row[0] == first_cell]
    assert len(matches) == 1, (first_cell, table_rows(response))
    return matches[0]


def is_checked(page, name, value):
    """Whether the checkbox `name` with `value` is on the page and checked."""
    boxes = re.findall(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="{value}"[^>]*>', page)
    assert len(boxes) == 1, (name, value, boxes)
    return " checked " in boxes[0]


def snapshot():
    """Everything the admin pages can change, read afresh from the database."""
    db.session.rollback()
    users = db.session.execute(
        select(User.id, User.email, User.name, User.password_hash, User.is_consultant,
               User.is_ops_lead, User.is_admin, User.is_disabled, User.session_nonce)
        .order_by(User.id)).all()
    teams = db.session.execute(select(Team.id, Team.slug, Team.name).order_by(Team.id)).all()
    members = sorted(db.session.execute(select(team_membership)).all())
    audit_count = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return users, teams, members, audit_count


def signed_in_client(app, user, password=PASSWORD):
    """Another browser: a separate test client signed in as `user`."""
    other = app.test_client()
    response = other.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return other


def last_entry(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.seq.desc())).first()


@pytest.fixture
def admin(login):
    user = make_user(name="Ada Admin", roles=("admin",))
    db.session.commit()
    return login(user)


@pytest.fixture
def people():
    """A team, its member and a user to act on, committed."""
    team = make_team(slug="payments", name="Payments")
    member = make_user(name="Mo Member", teams=[team])
    target = make_user(name="Tess Target")
    db.session.commit()
    return team, member, target


def admin_gets(team, user):
    return [
        "/admin/users", "/admin/users/new", f"/admin/users/{user.id}/edit",
        "/admin/teams", "/admin/teams/new", f"/admin/teams/{team.id}/edit",
        "/admin/checklists",
    ]


def admin_posts(team, user, intruder):
    """Valid posts that would change something if they were allowed."""
    return [
        ("/admin/users/new", {"email": "new@example.com", "name": "New", "password": "long enough",
                              "roles": ["admin"]}),
        (f"/admin/users/{intruder.id}/edit", {"name": "Promoted", "roles": ["admin"],
                                              "new_password": "taken over"}),
        (f"/admin/users/{user.id}/edit", {"name": user.name, "is_disabled": "y"}),
        ("/admin/teams/new", {"slug": "shadow", "name": "Shadow"}),
        (f"/admin/teams/{team.id}/edit", {"name": "Renamed", "members": [str(intruder.id)]}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, people):
    team, member, target = people
    for url in admin_gets(team, target):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    before = snapshot()
    for url, data in admin_posts(team, target, member):
        response = client.post(url, data=data)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
    assert snapshot() == before


@pytest.mark.parametrize("roles", [(), ("consultant",), ("ops_lead",)],
                         ids=["team-member", "consultant", "ops-lead"])
def test_non_admins_get_403_everywhere_and_change_nothing(client, login, people, roles):
    team, _, target = people
    intruder = make_user(name="Ivo Intruder", roles=roles, teams=[team])
    db.session.commit()
    login(intruder)
    for url in admin_gets(team, target):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Only admins" in response.get_data(as_text=True)
    before = snapshot()
    for url, data in admin_posts(team, target, intruder):
        assert client.post(url, data=data).status_code == 403, url
    assert snapshot() == before


def test_admin_pages_show_with_the_admin_navigation(client, admin, people):
    team, _, target = people
    for url in admin_gets(team, target):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert '<nav class="subnav" aria-label="Admin sections">' in page, url
        for link in ("/admin/users", "/admin/teams", "/admin/checklists"):
            assert f'href="{link}"' in page, url
    assert 'href="/admin/teams" aria-current="page"' in client.get("/admin/teams/new").text


def test_unknown_ids_are_404(client, admin):
    for url in ("/admin/users/9999/edit", "/admin/teams/9999/edit"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data={"name": "X"}).status_code == 404, url


def test_admin_creates_a_user_then_edits_roles_and_teams(client, admin):
    make_team(slug="payments", name="Payments")
    make_team(slug="search", name="Search")
    db.session.commit()
    response = client.post("/admin/users/new", data={
        "email": "Ana@Example.com", "name": "Ana Lima", "password": "long enough",
        "roles": ["consultant", "ops_lead"], "teams": ["payments"]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    ana = db.session.scalar(select(User).where(User.email == "ana@example.com"))
    assert ana.roles == ["consultant", "ops_lead"]
    assert [team.slug for team in ana.teams] == ["payments"]
    assert check_password_hash(ana.password_hash, "long enough")
    assert last_entry("user:create").actor_id == admin.id
    listing = client.get("/admin/users")
    assert "can now sign in" in listing.text
    assert row_starting(listing, "Ana Lima") == [
        "Ana Lima", "ana@example.com", "Consultant, Ops lead", "Payments", "allowed"]

    response = client.post(f"/admin/users/{ana.id}/edit", data={
        "name": "Ana Lima", "roles": ["admin"], "teams": ["search"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert ana.roles == ["admin"]
    assert [team.slug for team in ana.teams] == ["search"]
    entry = last_entry("user:update")
    assert entry.changes == {"roles": ["admin"], "teams": ["search"]}  # only what changed
    assert entry.subject_id == str(ana.id)


def test_the_edit_form_shows_the_users_current_values(client, admin, people):
    _, member, _ = people
    page = client.get(f"/admin/users/{member.id}/edit").text
    assert f'value="{member.name}"' in page
    assert is_checked(page, "teams", "payments")
    assert not is_checked(page, "roles", "consultant")
    assert not is_checked(page, "is_disabled", "y")


def test_invalid_new_user_forms_keep_what_was_typed_and_save_nothing(client, admin):
    make_user(email="taken@example.com")
    db.session.commit()
    before = snapshot()
    cases = [
        ({"email": "taken@example.com"}, "email-error", "already exists"),
        ({"email": "not-an-email"}, "email-error", "is not an email address"),
        ({"password": "short"}, "password-error", "at least 8 characters"),
        ({"name": "   "}, "name-error", "Enter a name"),
        ({"roles": ["consultant", "wizard"]}, "roles-error", "not a valid choice"),
    ]
    for override, error_id, message in cases:
        data = {"email": "ana@example.com", "name": "Ana Lima", "password": "secret-typed-1",
                "roles": ["consultant"], **override}
        response = client.post("/admin/users/new", data=data)
        page = response.text
        assert response.status_code == 422, override
        error = page[page.index(f'id="{error_id}"'):]
        assert message in error[:300], (override, error[:300])
        assert f'value="{data["email"]}"' in page
        if override.get("name") != "   ":
            assert 'value="Ana Lima"' in page
        assert is_checked(page, "roles", "consultant")
        assert not is_checked(page, "roles", "admin")
        assert data["password"] not in page
    assert snapshot() == before


def test_a_new_password_ends_the_users_other_sessions(app, client, admin, people):
    _, _, target = people
    other = signed_in_client(app, target)
    assert other.get("/").status_code == 200
    response = client.post(f"/admin/users/{target.id}/edit",
                           data={"name": target.name, "new_password": "a brand new secret"})
    assert response.status_code == 302
    response = other.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    old = app.test_client().post("/login", data={"email": target.email, "password": PASSWORD})
    assert old.status_code == 422
    signed_in_client(app, target, "a brand new secret")


def test_a_short_new_password_is_refused_next_to_its_field(client, admin, people):
    _, _, target = people
    before = snapshot()
    response = client.post(f"/admin/users/{target.id}/edit",
                           data={"name": "Changed name", "new_password": "short"})
    assert response.status_code == 422
    assert 'id="new_password-error"' in response.text
    assert 'value="Changed name"' in response.text
    assert snapshot() == before


def test_an_admin_changing_their_own_password_stays_signed_in(app, client, admin):
    elsewhere = signed_in_client(app, admin)
    response = client.post(f"/admin/users/{admin.id}/edit",
                           data={"name": admin.name, "roles": ["admin"],
                                 "new_password": "my new long password"})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_disabling_a_user_ends_their_session_and_refuses_sign_in(app, client, admin, people):
    _, _, target = people
    other = signed_in_client(app, target)
    response = client.post(f"/admin/users/{target.id}/edit",
                           data={"name": target.name, "is_disabled": "y"})
    assert response.status_code == 302
    assert "signed out everywhere" in client.get("/admin/users").text
    assert other.get("/").status_code == 302
    refused = app.test_client().post("/login", data={"email": target.email,
                                                     "password": PASSWORD})
    assert refused.status_code == 403 and "disabled" in refused.text
    assert last_entry("user:update").changes == {"is_disabled": True}
    assert row_starting(client.get("/admin/users"), target.name)[-1] == "disabled"
    # Enabling the account again does not bring the old session back.
    response = client.post(f"/admin/users/{target.id}/edit", data={"name": target.name})
    assert response.status_code == 302
    assert last_entry("user:update").changes == {"is_disabled": False}
    assert other.get("/").status_code == 302
    signed_in_client(app, target)


def test_audit_entries_never_contain_a_password_or_its_hash(client, admin):
    first, second = "first-secret-pass", "second-secret-pass"
    client.post("/admin/users/new", data={"email": "ana@example.com", "name": "Ana",
                                          "password": first})
    ana = db.session.scalar(select(User).where(User.email == "ana@example.com"))
    first_hash = ana.password_hash
    response = client.post(f"/admin/users/{ana.id}/edit",
                           data={"name": "Ana", "new_password": second})
    assert response.status_code == 302
    db.session.expire_all()
    assert check_password_hash(ana.password_hash, second)
    entries = db.session.scalars(select(AuditEntry)).all()
    assert {"user:create", "user:update"} <= {entry.action for entry in entries}
    assert last_entry("user:update").changes == {"password_changed": True}
    for entry in entries:
        text = json.dumps(entry.changes)
        for secret in (first, second, first_hash, ana.password_hash):
            assert secret not in text, entry.action


def test_admins_cannot_remove_their_own_admin_role(client, admin):
    before = snapshot()
    response = client.post(f"/admin/users/{admin.id}/edit",
                           data={"name": admin.name, "roles": ["consultant"]})
    assert response.status_code == 422
    page = response.text
    assert "You cannot remove your own admin role" in page[page.index('id="roles-error"'):]
    assert snapshot() == before
    assert client.get("/admin/users").status_code == 200


def test_admins_cannot_disable_themselves(client, admin):
    before = snapshot()
    response = client.post(f"/admin/users/{admin.id}/edit",
                           data={"name": admin.name, "roles": ["admin"], "is_disabled": "y"})
    assert response.status_code == 422
    page = response.text
    assert "You cannot disable your own account" in page[page.index('id="is_disabled-error"'):]
    assert snapshot() == before
    assert client.get("/admin/users").status_code == 200


def test_one_admin_may_demote_and_disable_another(client, admin):
    other = make_user(name="Other Admin", roles=("admin",))
    db.session.commit()
    response = client.post(f"/admin/users/{other.id}/edit",
                           data={"name": other.name, "is_disabled": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert other.roles == [] and other.is_disabled


def test_user_names_are_escaped_on_the_list(client, admin):
    make_user(name="<script>alert(1)</script>")
    db.session.commit()
    page = client.get("/admin/users").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


def test_admin_creates_a_team_and_edits_its_members(client, admin):
    ana = make_user(name="Ana", email="ana@example.com")
    bo = make_user(name="Bo", email="bo@example.com")
    db.session.commit()
    response = client.post("/admin/teams/new", data={"slug": "payments", "name": "Payments"})
    assert response.status_code == 302
    team = db.session.scalar(select(Team).where(Team.slug == "payments"))
    assert response.headers["Location"] == f"/admin/teams/{team.id}/edit"
    assert last_entry("team:create").changes == {"slug": "payments", "name": "Payments"}

    response = client.post(f"/admin/teams/{team.id}/edit",
                           data={"name": "Payments & Billing", "members": [ana.id, bo.id]})
    assert response.status_code == 302
    db.session.expire_all()
    assert team.name == "Payments & Billing"
    assert [user.email for user in team.members] == ["ana@example.com", "bo@example.com"]
    assert last_entry("team:update").changes == {
        "name": "Payments & Billing", "members_added": ["ana@example.com", "bo@example.com"]}

    response = client.post(f"/admin/teams/{team.id}/edit",
                           data={"name": "Payments & Billing", "members": [bo.id]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [user.email for user in team.members] == ["bo@example.com"]
    assert last_entry("team:update").changes == {"members_removed": ["ana@example.com"]}
    assert row_starting(client.get("/admin/teams"), "Payments & Billing") == [
        "Payments & Billing", "payments", "1", "0"]


def test_invalid_team_forms_show_the_error_next_to_the_field(client, admin):
    make_team(slug="payments", name="Payments")
    db.session.commit()
    before = snapshot()
    for slug, message in (("payments", "already exists"), ("Bad Slug", "is not a slug")):
        response = client.post("/admin/teams/new", data={"slug": slug, "name": "Typed name"})
        assert response.status_code == 422, slug
        page = response.text
        assert message in page[page.index('id="slug-error"'):][:200], slug
        assert 'value="Typed name"' in page
    team = db.session.scalar(select(Team))
    response = client.post(f"/admin/teams/{team.id}/edit", data={"name": "", "members": ["x"]})
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert snapshot() == before


def test_the_team_list_counts_members_and_services_in_a_fixed_number_of_queries(
        client, admin):
    def queries_for_listing():
        statements = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get("/admin/teams")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return response, len(statements)

    payments = make_team(slug="payments", name="Payments")
    make_user(teams=[payments])
    make_user(teams=[payments])
    make_service(team=payments)
    db.session.commit()
    response, few = queries_for_listing()
    assert row_starting(response, "Payments") == ["Payments", "payments", "2", "1"]

    for n in range(5):
        team = make_team(name=f"Extra {n}")
        make_user(teams=[team, payments])
        make_service(team=team)
        make_service(team=team)
    db.session.commit()
    response, many = queries_for_listing()
    assert many == few
    assert row_starting(response, "Payments") == ["Payments", "payments", "7", "1"]
    assert row_starting(response, "Extra 3")[2:] == ["1", "2"]


BROKEN_CHECKLIST = """\
id: broken
title: Broken
stage: launch
version: 1
sections:
  - id: s
    title: S
    colour: red
    items:
      - id: a
        title: A
"""


def test_the_checklists_page_shows_synced_versions_and_file_errors(make_app, tmp_path):
    folder = tmp_path / "checklists"
    folder.mkdir()
    (folder / "broken.yaml").write_text(BROKEN_CHECKLIST)
    app = make_app(CHECKLISTS_DIR=str(folder))
    with app.app_context():
        version = make_checklist_version(checklist_id="launch-readiness", version=3)
        admin = make_user(roles=("admin",))
        db.session.commit()
        client = signed_in_client(app, admin)
        response = client.get("/admin/checklists")
        assert response.status_code == 200
        page = response.text
        assert "checklists/broken.yaml:8: unknown key &#39;colour&#39;" in page
        assert "keeps using the last good version" in page
        assert "flask --app app checklists sync" in page
        assert row_starting(response, str(version.id)) == [
            str(version.id), f"{version.title} in use", "launch-readiness", "launch", "3",
            version.content_hash[:12], version.synced_at.strftime("%Y-%m-%d %H:%M")]

        # Checked afresh on every view: once the file is fixed, the error is gone.
        (folder / "broken.yaml").write_text(BROKEN_CHECKLIST.replace("    colour: red\n", ""))
        response = client.get("/admin/checklists")
        assert "broken.yaml:8" not in response.text
        assert row_starting(response, "checklists/broken.yaml")[-1] == "valid, not synced yet"
