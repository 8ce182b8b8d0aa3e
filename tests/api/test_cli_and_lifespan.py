"""`fulfil apikey create` / `revoke` against the test database, and the app opening its
services in its lifespan (as `serve` runs it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg
from typer.testing import CliRunner

from activities.db.engine import SessionFactory
from api.api_keys import hash_key
from api.http.app import create_app
from api.http.services import ApiServices
from tests.api.conftest import Keys, bearer
from tests.workflows.conftest import Stack
from workers.cli import app as fulfil


def test_apikey_create_prints_the_key_once_and_stores_only_its_hash(
        database_url: str, db: SessionFactory):
    # Given the configured database
    runner, env = CliRunner(), {"FULFIL_DATABASE_URL": database_url}

    # When a support key is created, then the same name again
    created = runner.invoke(fulfil, ["apikey", "create", "--role", "support", "--name", "agent-9",
                                      "--json"], env=env)
    again = runner.invoke(fulfil, ["apikey", "create", "--role", "admin", "--name", "agent-9"],
                          env=env)

    # Then the key is printed, stored as its hash only, and the name cannot be reused
    assert created.exit_code == 0, created.output
    issued = json.loads(created.stdout)
    assert (issued["name"], issued["role"]) == ("agent-9", "support")
    assert issued["key"].startswith("fk_")
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT role, key_hash FROM api_keys WHERE name = 'agent-9'").fetchall()
    assert stored == [("support", hash_key(issued["key"]))]
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_apikey_revoke_revokes_once_and_refuses_unknown_names(
        database_url: str, db: SessionFactory):
    runner, env = CliRunner(), {"FULFIL_DATABASE_URL": database_url}
    runner.invoke(fulfil, ["apikey", "create", "--role", "warehouse", "--name", "picker-2"], env=env)

    revoked = runner.invoke(fulfil, ["apikey", "revoke", "--name", "picker-2"], env=env)
    again = runner.invoke(fulfil, ["apikey", "revoke", "--name", "picker-2"], env=env)
    bad_role = runner.invoke(fulfil, ["apikey", "create", "--role", "root", "--name", "x"], env=env)

    assert revoked.exit_code == 0, revoked.output
    assert (again.exit_code, bad_role.exit_code) == (2, 2)
    assert "no active API key named 'picker-2'" in again.stderr


async def test_the_app_opens_its_services_in_its_lifespan(stack: Stack, keys: Keys):
    # Given an app that opens its services only when it starts
    opened: list[str] = []

    @asynccontextmanager
    async def open_services() -> AsyncIterator[ApiServices]:
        opened.append("open")
        yield ApiServices.of(stack.orders)
        opened.append("closed")

    app = create_app(open_services)
    assert opened == []

    # When it runs through its lifespan and serves a request
    transport = httpx.ASGITransport(app)
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://fulfil.test") as client):
        response = await client.get("/v1/orders", headers=bearer(keys.support))

    # Then the services were open for the request and closed afterwards
    assert response.status_code == 200
    assert opened == ["open", "closed"]
