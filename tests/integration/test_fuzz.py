"""Random Unicode into every route of the URL map (issue 18): lone surrogates, line and
paragraph separators, control characters, very long strings, in every form field seen on
the demo's pages, every JSON field of the fact push, path parameters and query strings.
No answer is a 5xx.

Bounded and derandomized: the same requests every run, some twenty per route.
"""

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from readiness import create_app
from readiness.cli.demo import load_demo
from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.models import User

from ..conftest import FAST_HASH, IsolatedClient, postgres_url, reset_postgres

pytestmark = pytest.mark.slow  # left out of the quick run (README)

EXAMPLES = 20
NASTY = st.sampled_from([
    "\ud800", "a\udfffb", "\u2028", "\u2029", "\x85", "\x00", "\x1b[31m", "\r\n", "\t",
    "\ufeff", "\u202e", "\U0001f600", "x" * 70_000, "<script>alert(1)</script>",
    "../../etc/passwd", "%00", "' OR 1=1 --", "{{7*7}}", "1e400", "-0", "NaN", "",
    "\uff12", "\u0661", "🏴‍☠️", "a" * 121,
])
TEXT = st.one_of(NASTY, st.text(st.characters(codec=None), max_size=40),
                 st.text(st.characters(categories=["Cs", "Zl", "Zp", "Cc", "Cf"]),
                         max_size=5))
SLUGS = ("checkout", "ledger", "search-api", "refunds")
# Each example is sent as one of the demo's people, so every role's forms are reached.
ROLES = ("admin@example.com", "consultant@example.com", "lead@example.com",
         "team@example.com")


class Fields(HTMLParser):
    """The names of the fields of every form on a page."""

    def __init__(self):
        super().__init__()
        self.names = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "textarea", "select", "button") and attrs.get("name"):
            self.names.add(attrs["name"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One app with the demo, an admin's signed-in client and token, and every form field
    name on its pages. Shared by the module's tests: the fuzzing may change it."""
    url = postgres_url()
    if url:
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "fuzz", "SQLALCHEMY_DATABASE_URI": url,
                      "AUTO_MIGRATE": False, "PASSWORD_HASH_METHOD": FAST_HASH,
                      "WTF_CSRF_ENABLED": False})
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        load_demo()
        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        token = create_token(admin, name="fuzz", actor=admin)[1]
        db.session.commit()
    clients = {}
    fields = Fields()
    for email in ROLES:
        clients[email] = client = app.test_client()
        sign_in(client, email)
        for path in ("/", "/services/", "/my-work", "/profile/", "/admin/users",
                     "/admin/users/1/edit", "/admin/users/new", "/admin/teams/new",
                     "/admin/teams/1/edit", "/services/new",
                     *(f"/services/{s}" for s in SLUGS),
                     *(f"/services/{s}/edit" for s in SLUGS),
                     *(f"/services/{s}/hand-back" for s in SLUGS),
                     *(f"/reviews/{n}" for n in range(1, 16))):
            fields.feed(client.get(path).get_data(as_text=True))
    fields.names.discard("csrf_token")
    assert {"email", "password", "name", "slug", "reason", "comment"} <= fields.names
    yield {"app": app, "clients": clients, "token": token, "fields": sorted(fields.names)}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def sign_in(client, email):
    response = client.post("/login", data={"email": email, "password": "demo"})
    assert response.status_code == 302


def rules(methods):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "AUTO_MIGRATE": False,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = [(method, rule.rule) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods & methods) if rule.endpoint != "static"]
    assert len(found) > 10
    return sorted(found)


def path_for(rule, draw):
    """`rule` with each <…> filled: a demo value most of the time, else random text."""
    def fill(match):
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return str(draw(st.one_of(st.integers(1, 8), st.integers(-5, 2**40))))
        value = draw(st.one_of(st.sampled_from(SLUGS), TEXT))
        return quote(value.encode("utf-8", "surrogatepass"), safe="") or "x"
    return re.sub(r"<(?:(\w+):)?\w+>", fill, rule)


def encoded(pairs):
    """A form or query body as a browser would send it; a lone surrogate goes out as its
    three bytes (no valid UTF-8), as an attacker could send."""
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}="
                    f"{quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in pairs)


def assert_no_server_error(response, method, path):
    assert response.status_code < 500, (method, path[:200], response.status_code,
                                        response.get_data(as_text=True)[:500])


FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize(("method", "rule"), rules({"POST"}), ids=lambda v: str(v))
@FUZZ
@given(data=st.data())
def test_random_text_in_every_form_field_of_every_post_route_is_never_a_5xx(
        demo, method, rule, data):
    email = data.draw(st.sampled_from(ROLES))
    client = demo["clients"][email]
    path = path_for(rule, data.draw)
    names = data.draw(st.lists(st.one_of(st.sampled_from(demo["fields"]), TEXT),
                               max_size=8))
    pairs = [(name, data.draw(TEXT)) for name in names]
    if rule.startswith("/api/"):
        body = data.draw(fact_bodies())
        response = client.post(path, data=body, headers={
            "Authorization": f"Bearer {demo['token']}", "Content-Type": "application/json"})
    else:
        response = client.post(path, data=encoded(pairs),
                               content_type="application/x-www-form-urlencoded")
    assert_no_server_error(response, method, path)
    if rule in ("/logout", "/login"):
        sign_in(client, email)  # the next example fuzzes signed in again


@pytest.mark.parametrize(("method", "rule"), rules({"GET"}), ids=lambda v: str(v))
@FUZZ
@given(data=st.data())
def test_random_text_in_the_path_and_query_of_every_get_route_is_never_a_5xx(
        demo, method, rule, data):
    client = demo["clients"][data.draw(st.sampled_from(ROLES))]
    path = path_for(rule, data.draw)
    names = data.draw(st.lists(st.one_of(st.sampled_from(
        ["q", "team", "state", "tier", "page", "per_page", "next", "section"]), TEXT),
        max_size=4))
    query = encoded((name, data.draw(TEXT)) for name in names)
    url = f"{path}?{query}" if query else path
    response = client.get(url, headers={"Authorization": f"Bearer {demo['token']}"}
                          if rule.startswith("/api/") else {})
    assert_no_server_error(response, method, url)


def fact_bodies():
    """JSON text for the fact push: facts with random values in every field, random
    extra fields, odd nesting, and the JSON escape of a lone surrogate."""
    value = st.one_of(TEXT, st.integers(), st.floats(allow_nan=False),
                      st.booleans(), st.none(), st.lists(st.integers(), max_size=3))
    fact = st.fixed_dictionaries(
        {}, optional={"name": value, "value": value, "observed_at": value,
                      "source": value, "extra": value})
    document = st.one_of(fact, st.lists(fact, max_size=5), value)
    return document.map(_json_text)


def _json_text(document):
    import json

    # ensure_ascii keeps a lone surrogate as the escape \ud800, which decoders accept.
    return json.dumps(document, ensure_ascii=True)
