"""The app factory: configuration from the environment, the overview page, the demo."""

import stat

import pytest
from sqlalchemy import func, select

from readiness import create_app
from readiness.config import database_url
from readiness.extensions import db
from readiness.models import Review, Service, User

from ..factories import make_service, make_team, make_user


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "AUTO_MIGRATE": False,
              "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    first = create_app(dict(config)).config["SECRET_KEY"]
    second = create_app(dict(config)).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app(dict(config)).config["SECRET_KEY"] == "from-the-environment"


def test_database_url_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "AUTO_MIGRATE": False})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.delenv("DATABASE_URL")
    default = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "AUTO_MIGRATE": False})
    assert default.config["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{tmp_path / 'instance' / 'readiness.sqlite'}")


def test_the_busy_timeout_comes_from_the_environment_within_bounds(tmp_path, monkeypatch):
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "AUTO_MIGRATE": False,
              "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    assert create_app(config).config["SQLITE_BUSY_TIMEOUT_MS"] == 10_000
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "2500")
    assert create_app(config).config["SQLITE_BUSY_TIMEOUT_MS"] == 2500
    for bad in ("30000", "-1", "5s", ""):
        monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", bad)
        with pytest.raises(ValueError, match="milliseconds, from 0 to 25000"):
            create_app(config)


def test_postgres_urls_use_the_psycopg_driver(tmp_path):
    assert database_url("postgres://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg:///db", tmp_path) == "postgresql+psycopg:///db"


def test_the_overview_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_dashboard_counts_services_by_state(client, app, login):
    team = make_team(name="Payments")
    login(make_user(teams=[team]))
    make_service(slug="ledger", name="Ledger <b>main</b>", team=team, state="ops_managed")
    make_service(team=team, state="ops_managed")
    make_service(team=team, state="development")
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert '<span class="number">2</span> <span class="label">Ops-managed</span>' in page
    assert '<span class="number">1</span> <span class="label">In development</span>' in page
    assert "<svg" in page and "Services by state" in page


def test_demo_fills_an_empty_database_once(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    emails = set(db.session.scalars(select(User.email)))
    assert {"team@example.com", "consultant@example.com", "lead@example.com",
            "admin@example.com"} <= emails
    states = set(db.session.scalars(select(Service.state)))
    assert states == {"development", "self_managed", "ops_managed", "retired"}
    review_states = set(db.session.scalars(select(Review.state)))
    assert review_states == {"draft", "submitted", "changes_requested", "approved", "withdrawn"}
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert "already has users" in again.output
    assert db.session.scalar(select(func.count()).select_from(User)) == len(emails)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_secure_session_cookies_are_one_variable_away(tmp_path, monkeypatch):
    config = {"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False,
              "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"}
    assert not create_app(dict(config)).config.get("SESSION_COOKIE_SECURE")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert create_app(dict(config)).config["SESSION_COOKIE_SECURE"] is True


def test_the_icon_is_linked_and_favicon_ico_leads_to_it(client, app):
    """Issue 19, defect 15: no 404 for the icon on a first visit."""
    page = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 301 and legacy.headers["Location"] == "/static/favicon.svg"
