"""Service pages: list with search, filters and pages; create; edit; the service page."""

import re
from html import unescape

import pytest
from sqlalchemy import event, func, select

from readiness.commands.services import create_service, update_service
from readiness.domain.inputs import InvalidInput
from readiness.extensions import db
from readiness.models import AuditEntry, Service
from readiness.queries import services as service_list
from readiness.web import services as services_web

from ..factories import make_checklist_version, make_service, make_team, make_user

GOOD = {
    "slug": "checkout-api", "name": "Checkout API", "team": "payments", "tier": "1",
    "description": "Takes **payments**.", "repo_url": "https://git.example.com/checkout",
    "runbook_url": "", "dashboard_url": "http://grafana.example.com/d/checkout",
}


@pytest.fixture
def setting(app):
    """Two teams with a member each, an admin, a user in no team, a service of payments."""
    payments = make_team(slug="payments", name="Payments")
    search = make_team(slug="search", name="Search")
    member = make_user(email="member@example.com", teams=[payments])
    outsider = make_user(email="outsider@example.com", teams=[search])
    admin = make_user(email="admin@example.com", roles=("admin",))
    loner = make_user(email="loner@example.com")
    service = make_service(slug="ledger", name="Ledger", team=payments, tier=2)
    service.description = "Keeps the books."
    service.repo_url = "https://git.example.com/ledger"
    db.session.commit()
    return {"payments": payments, "search": search, "member": member, "outsider": outsider,
            "admin": admin, "loner": loner, "service": service}


def page(response):
    return response.get_data(as_text=True)


def listed_slugs(response):
    """The service slugs in the list's table, in order."""
    return re.findall(r'<th scope="row"><a href="/services/([a-z0-9-]+)"', page(response))


def audit_entries(action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def service_count():
    return db.session.scalar(select(func.count()).select_from(Service))


# The list


def test_the_list_shows_each_service_with_its_team_tier_and_state(client, login, setting):
    make_service(slug="search-api", name="Search API", team=setting["search"], tier=3,
                 state="ops_managed")
    login(setting["outsider"])
    response = client.get("/services/")
    assert response.status_code == 200
    text = page(response)
    assert listed_slugs(response) == ["ledger", "search-api"]
    assert ">Search</a></td>" in text and "<td>3</td>" in text
    assert 'class="badge state-ops_managed"' in text
    assert "2 services" in text


def test_search_matches_name_or_slug_ignoring_case(client, login, setting):
    team = setting["payments"]
    make_service(slug="pay-gateway", name="Gateway", team=team)
    make_service(slug="refunds", name="Refund PAYouts", team=team)
    make_service(slug="invoices", name="Invoices", team=team)
    login(setting["member"])
    assert listed_slugs(client.get("/services/?q=pay")) == ["pay-gateway", "refunds"]
    assert listed_slugs(client.get("/services/?q=LEDG")) == ["ledger"]
    # LIKE wildcards in the search are plain characters.
    assert listed_slugs(client.get("/services/?q=%25")) == []
    assert "No service matches these filters" in page(client.get("/services/?q=_"))


def test_filters_by_team_state_and_tier_combine(client, login, setting):
    payments, search = setting["payments"], setting["search"]
    make_service(slug="a-dev", team=payments, tier=1, state="development")
    make_service(slug="b-ops", team=payments, tier=1, state="ops_managed")
    make_service(slug="c-ops", team=search, tier=1, state="ops_managed")
    make_service(slug="d-ops", team=search, tier=3, state="ops_managed")
    login(setting["member"])
    names = sorted
    assert names(listed_slugs(client.get("/services/?team=search"))) == ["c-ops", "d-ops"]
    assert names(listed_slugs(client.get("/services/?state=ops_managed"))) == [
        "b-ops", "c-ops", "d-ops"]
    assert names(listed_slugs(client.get("/services/?tier=1&state=ops_managed"))) == [
        "b-ops", "c-ops"]
    filtered = client.get("/services/?team=search&state=ops_managed&tier=3")
    assert listed_slugs(filtered) == ["d-ops"]
    # The form shows the filters in force.
    assert '<option value="search" selected>' in page(filtered)
    assert '<option value="ops_managed" selected>' in page(filtered)


def test_thirty_services_make_two_pages_whose_links_keep_the_filters(client, login, setting):
    for n in range(30):
        make_service(slug=f"svc-{n:02d}", name=f"Svc {n:02d}", team=setting["search"])
    login(setting["member"])
    first = client.get("/services/?team=search&q=svc")
    assert first.status_code == 200
    assert listed_slugs(first) == [f"svc-{n:02d}" for n in range(25)]
    assert "Page 1 of 2" in page(first)
    next_link = re.search(r'<a href="([^"]+)" rel="next">', page(first)).group(1)
    next_url = unescape(next_link)
    assert "page=2" in next_url and "team=search" in next_url and "q=svc" in next_url
    second = client.get(next_url)
    assert listed_slugs(second) == [f"svc-{n:02d}" for n in range(25, 30)]
    assert "Page 2 of 2" in page(second) and 'rel="next"' not in page(second)
    assert "30 services match" in page(second)


def test_past_the_count_bound_the_list_says_plus_and_pages_on_without_a_last(
        client, login, setting, monkeypatch):
    monkeypatch.setattr(service_list, "LIST_COUNT_BOUND", 40)
    for n in range(60):
        make_service(slug=f"svc-{n:02d}", name=f"Svc {n:02d}", team=setting["search"])
    login(setting["member"])
    first = client.get("/services/?q=svc")
    assert "40+ services match" in page(first) and "Page 1<" in page(first)
    assert listed_slugs(first) == [f"svc-{n:02d}" for n in range(25)]
    second = client.get("/services/?q=svc&page=2")  # counted to the end of this page
    assert "50+ services match" in page(second) and 'rel="next"' in page(second)
    third = client.get("/services/?q=svc&page=3")
    assert listed_slugs(third) == [f"svc-{n:02d}" for n in range(50, 60)]
    assert "60 services match" in page(third) and "Page 3 of 3" in page(third)
    assert 'rel="next"' not in page(third)
    beyond = client.get("/services/?q=svc&page=9")
    assert "There is no page 9; showing the last page, 3." in page(beyond)
    assert listed_slugs(beyond) == [f"svc-{n:02d}" for n in range(50, 60)]


def test_with_more_teams_than_a_menu_holds_the_team_filter_takes_a_slug(
        client, login, setting, monkeypatch):
    login(setting["member"])
    assert '<select id="team" name="team">' in page(client.get("/services/"))
    monkeypatch.setattr(services_web, "TEAM_MENU_LIMIT", 1)
    response = client.get("/services/?team=payments")
    assert '<select id="team" name="team">' not in page(response)
    assert 'name="team" value="payments"' in page(response)
    assert listed_slugs(response) == ["ledger"]
    assert listed_slugs(client.get("/services/?team=search")) == []
    unknown = client.get("/services/?team=nobody")
    assert "There is no team “nobody”" in page(unknown)


@pytest.mark.parametrize(("query", "notice"), [
    ("tier=abc", "“abc” is not a tier"),
    ("tier=7", "“7” is not a tier"),
    ("state=asleep", "“asleep” is not a state"),
    ("team=nobody", "There is no team “nobody”"),
    ("page=-1", "“-1” is not a page number"),
    ("page=abc", "“abc” is not a page number"),
    ("page=0", "“0” is not a page number"),
    ("page=99999999999999999999", "is not a page number"),
    ("page=9", "There is no page 9; showing the last page, 1."),
    ("q=" + "x" * 300, "The search was cut to its first 100 characters."),
])
def test_bad_query_args_show_a_message_instead_of_failing(client, login, setting, query,
                                                           notice):
    login(setting["member"])
    response = client.get(f"/services/?{query}")
    assert response.status_code == 200
    assert notice in page(response)
    if not query.startswith("q="):
        assert listed_slugs(response) == ["ledger"]


def test_the_new_service_link_is_shown_only_to_those_who_may_add_one(client, login, setting):
    login(setting["loner"])
    assert 'href="/services/new"' not in page(client.get("/services/"))
    client.post("/logout")
    login(setting["member"])
    assert 'href="/services/new"' in page(client.get("/services/"))


def test_the_list_takes_the_same_number_of_queries_for_5_and_40_services(app, client, login,
                                                                          setting):
    login(setting["member"])
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def queries_for_list():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get("/services/")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements), len(listed_slugs(response))

    teams = [make_team() for _ in range(4)]
    for n in range(4):
        make_service(team=teams[n % 4])
    db.session.commit()
    few, few_rows = queries_for_list()
    for n in range(35):
        make_service(team=make_team() if n % 2 else teams[n % 4])
    db.session.commit()
    many, many_rows = queries_for_list()
    assert (few_rows, many_rows) == (5, 25)
    assert few == many, statements


# Create


def test_a_team_member_adds_a_service_to_their_team(client, login, setting):
    login(setting["member"])
    form = client.get("/services/new")
    assert form.status_code == 200
    assert '<label for="slug">Slug</label>' in page(form)
    response = client.post("/services/new", data=GOOD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/services/checkout-api"
    service = db.session.scalar(select(Service).where(Service.slug == "checkout-api"))
    assert (service.name, service.team.slug, service.tier, service.state) == (
        "Checkout API", "payments", 1, "development")
    assert service.description == "Takes **payments**."
    assert service.runbook_url is None
    assert service.dashboard_url == "http://grafana.example.com/d/checkout"
    entry = audit_entries("service:create")[-1]
    assert entry.actor_id == setting["member"].id
    assert entry.changes["slug"] == "checkout-api" and entry.changes["team"] == "payments"
    shown = page(client.get(response.headers["Location"]))
    assert "Checkout API is added" in shown
    assert "Takes <strong>payments</strong>." in shown


def test_the_team_choice_lists_the_users_own_teams_and_all_for_admins(client, login, setting):
    login(setting["member"])
    form = page(client.get("/services/new"))
    assert '<option value="payments">Payments</option>' in form
    assert 'value="search"' not in form
    client.post("/logout")
    login(setting["admin"])
    form = page(client.get("/services/new"))
    assert 'value="payments"' in form and 'value="search"' in form
    response = client.post("/services/new", data={**GOOD, "team": "search"})
    assert response.status_code == 302
    assert db.session.scalar(select(Service).where(Service.slug == "checkout-api")
                             ).team.slug == "search"


def test_adding_a_service_to_another_team_is_refused(client, login, setting):
    login(setting["member"])
    response = client.post("/services/new", data={**GOOD, "team": "search"})
    assert response.status_code == 403
    assert "Only members of Search" in page(response)
    assert service_count() == 1
    assert audit_entries("service:create")[-1].changes["slug"] == "ledger"


def test_a_user_in_no_team_cannot_add_services(client, login, setting):
    login(setting["loner"])
    assert client.get("/services/new").status_code == 403
    assert client.post("/services/new", data=GOOD).status_code == 403
    assert service_count() == 1


def test_signed_out_people_are_sent_to_sign_in(client, setting):
    response = client.get("/services/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/services/new")
    posted = client.post("/services/new", data=GOOD)
    assert posted.status_code == 401
    assert "Sign in" in page(posted)
    assert service_count() == 1
    assert client.get("/services/").status_code == 302


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"slug": "Checkout API!"}, "slug", "is not a slug"),
    ({"slug": "-checkout"}, "slug", "is not a slug"),
    ({"slug": "ledger"}, "slug", "A service &#39;ledger&#39; already exists."),
    ({"name": "   "}, "name", "A service needs a name."),
    ({"tier": "abc"}, "tier", "The tier is 1 (most critical), 2 or 3."),
    ({"tier": "4"}, "tier", "The tier is 1 (most critical), 2 or 3."),
    ({"team": ""}, "team", "Choose the owning team."),
    ({"team": "no-such-team"}, "team", "Choose one of your teams."),
    ({"repo_url": "javascript:alert(1)"}, "repo_url", "must be a full http:// or https://"),
    ({"runbook_url": "ftp://files.example.com/runbook"}, "runbook_url", "must be a full"),
    ({"dashboard_url": "https://"}, "dashboard_url", "must be a full"),
    ({"dashboard_url": "http://[oops"}, "dashboard_url", "must be a full"),
])
def test_bad_input_comes_back_with_422_the_error_at_the_field_and_all_typed_kept(
        client, login, setting, changes, field, message):
    login(setting["member"])
    data = {**GOOD, **changes}
    response = client.post("/services/new", data=data)
    assert response.status_code == 422
    text = page(response)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', text)
    assert error is not None, text
    assert message in error.group(1)
    assert f'aria-describedby="{field}-hint {field}-error"' in text or \
        f'aria-describedby="{field}-error"' in text
    if field != "name":
        assert 'value="Checkout API"' in text
    assert "Takes **payments**.</textarea>" in text
    if field != "repo_url":
        assert 'value="https://git.example.com/checkout"' in text
    if field != "slug":
        assert 'value="checkout-api"' in text
    assert service_count() == 1


# Edit


def test_the_owning_team_edits_a_service_and_the_audit_has_the_changed_values(
        client, login, setting):
    login(setting["member"])
    form = client.get("/services/ledger/edit")
    assert form.status_code == 200
    assert "Keeps the books.</textarea>" in page(form)
    assert 'name="slug"' not in page(form) and 'name="team"' not in page(form)
    response = client.post("/services/ledger/edit", data={
        "name": "General Ledger", "tier": "2", "description": "Keeps the books.",
        "repo_url": "https://git.example.com/ledger", "runbook_url": "https://wiki.example.com/l",
        "dashboard_url": ""})
    assert response.status_code == 302
    assert response.headers["Location"] == "/services/ledger"
    service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
    assert service.name == "General Ledger"
    assert service.runbook_url == "https://wiki.example.com/l"
    entry = audit_entries("service:update")[-1]
    assert entry.actor_id == setting["member"].id
    assert entry.subject_id == str(service.id)
    assert entry.changes == {
        "name": {"old": "Ledger", "new": "General Ledger"},
        "runbook_url": {"old": None, "new": "https://wiki.example.com/l"},
    }
    assert "General Ledger is saved." in page(client.get("/services/ledger"))


def test_an_admin_edits_any_service(client, login, setting):
    login(setting["admin"])
    response = client.post("/services/ledger/edit", data={
        "name": "Ledger", "tier": "1", "description": "", "repo_url": "", "runbook_url": "",
        "dashboard_url": ""})
    assert response.status_code == 302
    service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
    assert (service.tier, service.description, service.repo_url) == (1, "", None)
    assert audit_entries("service:update")[-1].changes == {
        "tier": {"old": 2, "new": 1},
        "description": {"old": "Keeps the books.", "new": ""},
        "repo_url": {"old": "https://git.example.com/ledger", "new": None},
    }


def test_another_team_cannot_edit_and_nothing_changes(client, login, setting):
    before = len(audit_entries("service:update"))
    login(setting["outsider"])
    assert client.get("/services/ledger/edit").status_code == 403
    response = client.post("/services/ledger/edit", data={
        "name": "Hijacked", "tier": "3", "description": "", "repo_url": "", "runbook_url": "",
        "dashboard_url": ""})
    assert response.status_code == 403
    service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
    assert (service.name, service.tier, service.description) == ("Ledger", 2, "Keeps the books.")
    assert len(audit_entries("service:update")) == before


def test_edit_ignores_a_posted_slug_team_or_state(client, login, setting):
    login(setting["member"])
    response = client.post("/services/ledger/edit", data={
        "name": "Ledger", "tier": "2", "description": "Keeps the books.",
        "repo_url": "https://git.example.com/ledger", "runbook_url": "", "dashboard_url": "",
        "slug": "stolen", "team": "search", "state": "ops_managed"})
    assert response.status_code == 302
    service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
    assert (service.team.slug, service.state) == ("payments", "development")
    assert "Nothing had changed." in page(client.get("/services/ledger"))
    assert audit_entries("service:update") == []


def test_a_bad_edit_comes_back_with_422_and_changes_nothing(client, login, setting):
    login(setting["member"])
    response = client.post("/services/ledger/edit", data={
        "name": "New name", "tier": "2", "description": "Typed *carefully*.",
        "repo_url": "javascript:alert(document.cookie)", "runbook_url": "", "dashboard_url": ""})
    assert response.status_code == 422
    text = page(response)
    assert 'id="repo_url-error"' in text
    assert 'value="New name"' in text and "Typed *carefully*.</textarea>" in text
    assert 'value="javascript:alert(document.cookie)"' in text
    service = db.session.scalar(select(Service).where(Service.slug == "ledger"))
    assert (service.name, service.repo_url) == ("Ledger", "https://git.example.com/ledger")
    assert audit_entries("service:update") == []


def test_unknown_services_are_404(client, login, setting):
    login(setting["admin"])
    assert client.get("/services/nope").status_code == 404
    assert client.get("/services/nope/edit").status_code == 404
    assert client.post("/services/nope/edit", data={"name": "x"}).status_code == 404


def test_a_signed_out_edit_comes_back_filled_in_after_signing_in(client, setting):
    typed = {"name": "Ledger 2", "tier": "1", "description": "Long text typed slowly.",
             "repo_url": "", "runbook_url": "", "dashboard_url": ""}
    response = client.post("/services/ledger/edit", data=typed)
    assert response.status_code == 401
    assert 'name="carry-description" value="Long text typed slowly."' in page(response)
    signed_in = client.post("/login", data={
        "email": "member@example.com", "password": "correct horse",
        "next": "/services/ledger/edit", "carried_endpoint": "services.edit",
        **{f"carry-{name}": value for name, value in typed.items()}})
    assert signed_in.status_code == 200
    assert "Long text typed slowly.</textarea>" in page(signed_in)
    assert 'value="Ledger 2"' in page(signed_in)
    # Nothing is saved on the person's behalf.
    assert db.session.scalar(select(Service.name).where(Service.slug == "ledger")) == "Ledger"


# The service page


def test_the_service_page_shows_details_links_and_the_actions_allowed(client, login, setting):
    make_checklist_version()
    service = setting["service"]
    service.dashboard_url = "https://grafana.example.com/d/ledger"
    db.session.commit()
    login(setting["member"])
    text = page(client.get("/services/ledger"))
    assert "Keeps the books." in text
    assert 'class="badge state-development"' in text
    assert "\">Payments</a></dd>" in text and "<dd>2</dd>" in text
    assert ('<a href="https://grafana.example.com/d/ledger" '
            'rel="noopener noreferrer nofollow">') in text
    assert 'href="/services/ledger/edit"' in text
    assert 'action="/services/ledger/reviews"' in text
    assert 'name="checklist_version_id"' in text
    client.post("/logout")
    login(setting["outsider"])
    text = page(client.get("/services/ledger"))
    assert "Keeps the books." in text
    assert 'href="/services/ledger/edit"' not in text
    assert 'action="/services/ledger/reviews"' not in text


def test_script_in_a_name_or_description_is_shown_as_text(client, login, setting):
    service = setting["service"]
    service.name = "<script>alert('name')</script>"
    service.description = "<script>alert('description')</script>\n\n[x](javascript:alert(1))"
    db.session.commit()
    login(setting["member"])
    for url in ("/services/", "/services/?q=script", "/services/ledger",
                "/services/ledger/edit"):
        text = page(client.get(url))
        assert "<script>" not in text, url
        assert "&lt;script&gt;alert(" in text, url
    shown = page(client.get("/services/ledger"))
    assert "<p>&lt;script&gt;alert('description')&lt;/script&gt;</p>" in shown
    assert "javascript:" not in shown


def test_only_web_links_become_links(client, login, setting):
    service = setting["service"]
    # Stored before links were checked (or by hand): shown, but never as a link.
    service.runbook_url = "javascript:alert(1)"
    db.session.commit()
    login(setting["member"])
    text = page(client.get("/services/ledger"))
    assert 'href="javascript:' not in text
    assert "<code>javascript:alert(1)</code>" in text
    assert 'href="https://git.example.com/ledger"' in text


# The operations


def test_create_service_refuses_links_that_are_not_http(app, setting):
    with pytest.raises(InvalidInput, match="repository link must be a full http"):
        create_service(slug="x", name="X", team=setting["payments"],
                       repo_url="javascript:alert(1)")
    with pytest.raises(InvalidInput, match="runbook link must be a full http"):
        create_service(slug="x", name="X", team=setting["payments"],
                       runbook_url="https://exa mple.com")
    service = create_service(slug="x", name=" X ", team=setting["payments"],
                             description="a\r\nb", dashboard_url=" https://d.example.com ")
    assert (service.name, service.description, service.dashboard_url) == (
        "X", "a\nb", "https://d.example.com")


def test_update_service_changes_only_editable_fields_and_audits_the_difference(app, setting):
    service, member = setting["service"], setting["member"]
    with pytest.raises(TypeError, match="cannot change slug, state"):
        update_service(service, actor=member, slug="other", state="retired")
    with pytest.raises(InvalidInput, match="the tier is 1"):
        update_service(service, actor=member, tier=5)
    assert service.tier == 2
    assert update_service(service, actor=member, name="Ledger", tier=2) == {}
    assert audit_entries("service:update") == []
    changes = update_service(service, actor=member, name="Books", tier=3)
    assert changes == {"name": {"old": "Ledger", "new": "Books"},
                       "tier": {"old": 2, "new": 3}}
    assert audit_entries("service:update")[-1].changes == changes


def test_the_list_downloads_as_csv_with_its_filters(client, login, setting):
    import csv
    import io

    make_service(slug="a-ops", name="=HYPERLINK(\"http://evil\")", team=setting["search"],
                 tier=1, state="ops_managed")
    make_service(slug="b-dev", name="Plain", team=setting["search"], tier=1)
    db.session.commit()
    login(setting["member"])
    page_text = page(client.get("/services/?team=search&tier=1"))
    assert 'href="/services/export.csv?team=search&amp;tier=1"' in page_text
    response = client.get("/services/export.csv?team=search&tier=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="services.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["slug", "name", "team", "tier", "state", "catalog_lifecycle",
                       "repo_url", "runbook_url", "dashboard_url"]
    assert [r[0] for r in rows[1:]] == ["a-ops", "b-dev"]  # by name, as the list
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"  # never a formula in a spreadsheet
    only_ops = client.get("/services/export.csv?team=search&state=ops_managed")
    assert [r[0] for r in csv.reader(io.StringIO(only_ops.get_data(as_text=True)))][1:] \
        == ["a-ops"]


def test_the_csv_needs_a_sign_in(client, setting):
    response = client.get("/services/export.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
