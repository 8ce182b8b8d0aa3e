"""HTTP API tests: the real app through httpx's ASGI transport, on the workflow tests'
time-skipping server, worker and PostgreSQL (their fixtures are imported below)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from api.api_keys import ApiKeyService
from api.http.app import create_app
from api.http.services import ApiServices
from domain.access import Role
from tests.workflows import conftest as workflow_fixtures
from tests.workflows.conftest import Stack

# The workflow tests' fixtures: a time-skipping server, and a seeded database with a worker.
_test_server = workflow_fixtures._test_server
temporal_env = workflow_fixtures.temporal_env
stack = workflow_fixtures.stack
manual_orders = workflow_fixtures.manual_orders


@dataclass(frozen=True)
class Keys:
    storefront: str  # shop-web
    support: str  # agent-7
    warehouse: str  # picker-1
    revoked: str  # old-support, a support key that was revoked


@pytest.fixture
async def keys(stack: Stack) -> Keys:
    service = ApiKeyService(stack.db)

    async def issue(name: str, role: Role) -> str:
        return (await service.create(name, role)).key

    revoked = await issue("old-support", Role.SUPPORT)
    await service.revoke("old-support")
    return Keys(await issue("shop-web", Role.STOREFRONT), await issue("agent-7", Role.SUPPORT),
                await issue("picker-1", Role.WAREHOUSE), revoked)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def client_for(services: ApiServices, *,
                     raise_app_exceptions: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(services),
                                    raise_app_exceptions=raise_app_exceptions)
    async with httpx.AsyncClient(transport=transport, base_url="http://fulfil.test") as client:
        yield client


@pytest.fixture
async def api(stack: Stack, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the stack's worker, with a warehouse that confirms on its own."""
    async with client_for(ApiServices.of(stack.orders)) as client:
        yield client
