"""Runs Alembic migrations from code, so `fulfil migrate` needs no alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from activities.db.engine import normalise_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "activities.db:migrations")
    # Alembic's config is an INI file underneath: '%' must be doubled.
    url = make_url(normalise_url(database_url)).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
