"""Shared fixtures: a fresh PostgreSQL database per test session, migrated with Alembic.

The tests need the real PostgreSQL server (FULFIL_TEST_DATABASE_URL, default the local one on
127.0.0.1:5432) and fail, never skip, when it cannot be reached.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.db.engine import SessionFactory, build_engine, build_session_factory
from activities.db.metadata import metadata
from activities.db.migrate import upgrade

ADMIN_URL = os.environ.get(
    "FULFIL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin_conninfo() -> str:
    url = make_url(ADMIN_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new database for this test run, migrated to head; dropped afterwards."""
    name = f"fulfil_test_{os.getpid()}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = build_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return build_session_factory(engine)


@pytest.fixture
async def db(session_factory: SessionFactory) -> SessionFactory:
    """An empty database (every table truncated) for one test."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with session_factory.begin() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return session_factory
