"""Fixtures: a clean database per test, on SQLite by default or on PostgreSQL when
DATABASE_URL names one (`.ci/run` runs the suite both ways)."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from readiness import create_app
from readiness.config import database_url
from readiness.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Cheap hashing keeps user creation fast; production uses scrypt.
FAST_HASH = "pbkdf2:sha256:1000"


def postgres_url():
    url = os.environ.get("DATABASE_URL")
    return database_url(url, None) if url and not url.startswith("sqlite") else None


def is_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only need DATABASE_URL to name a PostgreSQL database.

    Locally they skip with that reason. In CI a skip would hide them, so on the
    SQLite pass they are deselected instead: `.ci/run` runs the whole suite again
    on PostgreSQL, where they run. Tests marked sqlite_only are left out of the
    PostgreSQL pass the same way (the SQLite pass runs them).
    """
    if postgres_url():
        sqlite_only = [item for item in items if "sqlite_only" in item.keywords]
        config.hook.pytest_deselected(items=sqlite_only)
        items[:] = [item for item in items if item not in sqlite_only]
        return
    needs_postgres = [item for item in items if "postgres_only" in item.keywords]
    if is_ci():
        config.hook.pytest_deselected(items=needs_postgres)
        items[:] = [item for item in items if item not in needs_postgres]
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (see README)")
    for item in needs_postgres:
        item.add_marker(skip)


def reset_postgres(url):
    """An empty public schema: triggers and functions go with it."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "AUTO_MIGRATE": False,
    "PASSWORD_HASH_METHOD": FAST_HASH,
    # Posts from the test client carry no CSRF token; tests of CSRF turn it on.
    "WTF_CSRF_ENABLED": False,
    # Handoffs in tests need no months of self-managed time (a pager trial they do need:
    # factories.make_trial); tests of the minimum set it.
    "HANDOFF_MIN_SELF_MANAGED_DAYS": 0,
}
# Apps by their config, built once per run and reused by later tests with the same config
# (building one costs ~30 ms, mostly compiling the URL rules). Each test still gets an
# empty database of its own: the file is replaced (SQLite) or the schema dropped
# (PostgreSQL) before it starts, with every cached engine's connections closed first.
_APPS = {}


def _dispose_cached_engines():
    for app in _APPS.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_files(tmp_path_factory):
    """(the path each test's SQLite database lives at, an SQLite file holding the
    models' empty tables, made once and copied for each test that wants tables)."""
    folder = tmp_path_factory.mktemp("database")
    template = folder / "empty-schema.sqlite"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}"})
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection's close folds the WAL into the file
    return folder / "test.sqlite", template


@pytest.fixture
def database_uri(request):
    """The URI of an empty database for one test."""
    _dispose_cached_engines()
    url = postgres_url()
    if url:
        reset_postgres(url)
        return url
    path, _ = request.getfixturevalue("sqlite_files")
    for leftover in (path, path.with_name(path.name + "-wal"),
                     path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


class IsolatedClient(FlaskClient):
    """A test client whose requests each run in their own app context, as in production.

    Flask would otherwise reuse the test's app context, sharing `g` (the signed-in
    user) and the database session between requests. Around each request the test's
    own transaction is ended (committed), so the request sees what the test wrote and
    the test then reads what the request committed, as two clients of one database.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.commit()
        return response


@pytest.fixture
def make_app(database_uri, request):
    """Apps on this test's empty database; tables are created unless told not to.

    With tables, an app of the same config is reused from an earlier test (see _APPS);
    without, each call builds a new one (migration tests build the schema themselves)."""
    apps = []

    def make(create_tables=True, **overrides):
        config = {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_uri, **overrides}
        key = tuple(sorted((name, repr(value)) for name, value in config.items()))
        app = _APPS.get(key) if create_tables else None
        if app is None:
            app = create_app(config)
            app.test_client_class = IsolatedClient
            if create_tables:
                _APPS[key] = app
        if create_tables:
            uri = config["SQLALCHEMY_DATABASE_URI"]
            path = uri.removeprefix("sqlite:///")
            if uri.startswith("sqlite:///") and not Path(path).exists():
                shutil.copyfile(request.getfixturevalue("sqlite_files")[1], path)
            else:
                with app.app_context():
                    db.create_all()
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app, request):
    """The app on this test's database; `@pytest.mark.config(NAME=value)` sets config."""
    marker = request.node.get_closest_marker("config")
    app = make_app(**(marker.kwargs if marker else {}))
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """Sign `user` in on the test client (factories give every user this password)."""

    def sign_in(user, password="correct horse"):  # noqa: S107
        db.session.commit()  # the request runs in its own session: it must see the user
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return sign_in


@pytest.fixture
def live_app(make_app):
    """The app with CSRF on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def live_server(live_app):
    """The base URL of `live_app` served by a real HTTP server in a thread."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
