"""Fixtures: a clean database per test, on SQLite by default or on PostgreSQL when
DATABASE_URL names one (`.ci/run` runs the suite both ways)."""

import os
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


@pytest.fixture
def database_uri(tmp_path):
    """The URI of an empty database for one test."""
    url = postgres_url()
    if url:
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


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
def make_app(database_uri):
    """Build apps on this test's empty database; tables are created unless told not to."""
    apps = []

    def make(create_tables=True, **overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "AUTO_MIGRATE": False,
            "PASSWORD_HASH_METHOD": FAST_HASH,
            # Posts from the test client carry no CSRF token; tests of CSRF turn it on.
            "WTF_CSRF_ENABLED": False,
        }
        config.update(overrides)
        app = create_app(config)
        app.test_client_class = IsolatedClient
        if create_tables:
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
def app(make_app):
    app = make_app()
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
