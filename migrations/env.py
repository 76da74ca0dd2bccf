"""Alembic environment: runs migrations on the app's database (Flask-Migrate)."""

from alembic import context
from flask import current_app
from sqlalchemy import text

from readiness.models import UTCDateTime

config = context.config
db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    # Migrations stay independent of the app's code: UTCDateTime is a DateTime underneath.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline():
    context.configure(url=db.engine.url.render_as_string(hide_password=False),
                      target_metadata=db.metadata, literal_binds=True,
                      render_as_batch=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode recreates tables; with foreign keys on, dropping one would cascade.
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.commit()
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=True, render_item=render_item, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
