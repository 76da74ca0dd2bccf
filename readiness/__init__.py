"""readiness: launch, hand-off and handback readiness reviews for production services."""

from pathlib import Path

from flask import Flask

from . import config, database
from .extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    """Build the app: configuration, extensions, blueprints and CLI commands."""
    instance_path = (test_config or {}).get("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=instance_path)
    from .web.errors import IdConverter
    from .web.sessions import PagesOnlySessionInterface

    app.url_map.converters["int"] = IdConverter
    app.session_interface = PagesOnlySessionInterface()
    config.load(app, test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=database.MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    database.configure_engine(app)

    from . import (
        audit,  # noqa: F401  (registers the audit triggers on the table)
        summaries,  # noqa: F401  (registers the triggers that keep the counts)
    )
    from .api import bp as api_bp
    from .api import metrics_bp
    from .cli import register_commands
    from .markdown import excerpt
    from .markdown import render as render_markdown
    from .web import (
        admin,
        auth,
        campaigns,
        errors,
        home,
        labels,
        lifecycle,
        notifications,
        profile,
        reviews,
        services,
        teams,
        waivers,
    )

    for blueprint in (home.bp, auth.bp, services.bp, reviews.bp, lifecycle.bp, profile.bp,
                      admin.bp, notifications.bp, waivers.bp, campaigns.bp, teams.bp,
                      api_bp, metrics_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # bearer tokens, not cookies: no CSRF to fear
    csrf.exempt(metrics_bp)
    errors.register(app)
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(excerpt, "excerpt")
    # A sentence's first letter up, the rest as written (|capitalize lowers names).
    app.add_template_filter(lambda text: text[:1].upper() + text[1:], "sentence")
    app.add_template_global(labels.state_label, "state_label")
    register_commands(app)

    if app.config["AUTO_MIGRATE"]:
        database.upgrade_to_head(app)
    return app
