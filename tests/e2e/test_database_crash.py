"""A PostgreSQL crash in the middle of an order: the server is shut down immediately (no
checkpoint, crash recovery on restart) while the order is being picked. Activities and
timeline writes fail and are retried; once the database is back the order ships, charged
once and with the stock taken once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.client import Client

from activities.db.engine import build_engine, build_session_factory
from activities.db.migrate import upgrade
from activities.payments.simulator import SimulatedGateway
from api.orders import OrderService
from tests.support import checkout, seed
from tests.workflows.conftest import TIMINGS
from workers.stack import (
    EmbeddedPostgres,
    find_free_port,
    start_embedded_postgres,
    start_temporal_dev_server,
)
from workflows.order_contract import WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

pytestmark = pytest.mark.e2e

OUTAGE_S = 8.0
ORDER_TIMEOUT_S = 90.0


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    postgres = start_embedded_postgres(tmp_path / "data")
    upgrade(postgres.url)
    yield postgres
    postgres.stop()
    stop_restarted(postgres)


def stop_restarted(postgres: EmbeddedPostgres) -> None:
    """The library stops only the server it started; the one restart() started is left."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    server = postgres._server
    if (server.pgdata / "postmaster.pid").exists():
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)


def crash(postgres: EmbeddedPostgres) -> None:
    """Immediate shutdown: like a power cut, the server recovers from its WAL on restart."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    server = postgres._server
    pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)


def restart(postgres: EmbeddedPostgres) -> None:
    """Starts the crashed server again on the same data and socket, as an operator would."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    server = postgres._server
    socket_dir = server.get_postmaster_info().socket_dir
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-w",
               "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.pgdata / "log"),
               "start"]
    if server.system_user:
        command = ["runuser", "-u", server.system_user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


async def wait_for_status(orders: OrderService, order_id: str, status: str) -> None:
    deadline = time.monotonic() + ORDER_TIMEOUT_S
    while (await orders.view(order_id)).status != status:
        assert time.monotonic() < deadline, f"order never reached {status}"
        await asyncio.sleep(0.3)


def start_worker(postgres: EmbeddedPostgres, address: str, task_queue: str,
                 log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.update(FULFIL_DATABASE_URL=postgres.url, FULFIL_TEMPORAL_ADDRESS=address,
               FULFIL_TASK_QUEUE=task_queue, FULFIL_LOG_FORMAT="json",
               FULFIL_PAYMENT_LATENCY_MS="0", FULFIL_CARRIER_LATENCY_MS="0")
    return subprocess.Popen([str(Path(sys.executable).with_name("fulfil")), "worker"],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def test_a_database_crash_mid_order_delays_it_but_charges_and_ships_once(
    embedded: EmbeddedPostgres, tmp_path: Path
):
    engine = build_engine(embedded.url)
    db = build_session_factory(engine)
    await seed(db)
    server = await start_temporal_dev_server(tmp_path / "temporal", port=find_free_port(),
                                             ui_port=find_free_port())
    task_queue = f"orders-{uuid.uuid4()}"
    worker = start_worker(embedded, server.address, task_queue, tmp_path / "worker.log")
    try:
        client = await Client.connect(server.address)
        timings = replace(TIMINGS, warehouse_autoconfirm_s=None, tracking_poll_s=1,
                          return_window_s=1, survey_after_s=1, survey_open_s=1)
        orders = OrderService(client, db, task_queue, timings)
        # Given an order being picked
        placed = await orders.place(checkout())
        order_id = placed.order.order_id
        await wait_for_status(orders, order_id, "PICKING")

        # When the database crashes while the warehouse confirms, and comes back later
        await asyncio.to_thread(crash, embedded)
        await placed.handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation("picker-1"))
        await placed.handle.signal(OrderWorkflow.confirm_pack, WarehouseConfirmation("packer-1"))
        await asyncio.sleep(OUTAGE_S)
        # ... where is my order? The workflow answers while the database is down.
        assert (await orders.view(order_id)).status in ("PICKING", "PACKED")
        await asyncio.to_thread(restart, embedded)

        # Then the order completes, charged once, stock taken once, timeline complete
        result = await asyncio.wait_for(placed.handle.result(), ORDER_TIMEOUT_S)
        assert result.status == "COMPLETED"
        view = await placed.handle.query(OrderWorkflow.view)
    finally:
        worker.kill()
        worker.wait()
        server.stop()
    gateway = SimulatedGateway(db, latency_ms=0)
    authorization = view.payment.authorization
    assert await gateway.count_operations("authorize", authorization=authorization) == 1
    assert await gateway.count_operations("capture", authorization=authorization) == 1
    async with db() as session:
        kinds = (await session.execute(text(
            "SELECT kind FROM payments WHERE order_id = :o ORDER BY id"),
            {"o": order_id})).scalars().all()
        stock = (await session.execute(text(
            "SELECT on_hand, reserved FROM stock_levels "
            "WHERE sku = 'TEE-BLK-M' AND warehouse = 'BER'"))).one()
        events = (await session.execute(text(
            "SELECT seq, kind FROM order_events WHERE order_id = :o ORDER BY seq"),
            {"o": order_id})).all()
    await engine.dispose()
    assert kinds == ["authorize", "capture"]
    assert tuple(stock) == (8, 0)
    assert [(e.seq, e.kind) for e in view.timeline] == [tuple(e) for e in events]
