"""A flash sale on one hot SKU: 200 orders at once for 50 units across two warehouses, against
the real PostgreSQL, a real Temporal dev server and a `fulfil worker` process.

Exactly 50 units are held, salable stock never goes below zero, every other order either
waits for stock (BACKORDERED, its payment authorized but not captured) or fails cleanly with
its authorization voided; a receipt then fills the oldest backorders first.

Run with `-s` to see the figures; they are also written to tests/artifacts/ for quoting.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.client import Client, WorkflowExecutionStatus

from activities.db.engine import SessionFactory
from activities.payments.simulator import SimulatedGateway
from api.catalogue import parse_seed, seed_catalogue
from api.orders import OrderService, PlacedOrder
from api.stock import StockService
from tests.e2e.processes import start_worker
from workers.stack import DevServer
from workflows.order_contract import OrderTimings, order_workflow_id
from workflows.order_workflow import OrderWorkflow

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

HOT = "HOT-SNEAKER"
OPENING = {"BER": 30, "HAM": 20}
UNITS = sum(OPENING.values())
ORDERS = 200
RECEIVED = 10
# Orders that got stock stop in PICKING and hold it: nobody confirms the pick. A backordered
# order polls for receipts every few seconds as well as being woken by the receipt's signal.
TIMINGS = OrderTimings(return_window_s=3600, warehouse_autoconfirm_s=None, tracking_poll_s=3,
                       backorder_deadline_s=3600)
SETTLED = frozenset({"PICKING", "BACKORDERED", "FAILED"})

SETTLE_TIMEOUT_S = 120.0
FILL_TIMEOUT_S = 30.0
POLL_S = 0.5

CATALOGUE: dict[str, Any] = {
    "warehouses": [{"code": "BER", "name": "Berlin", "country": "DE", "priority": 1},
                   {"code": "HAM", "name": "Hamburg", "country": "DE", "priority": 2}],
    "products": [{"sku": HOT, "name": "Limited sneaker", "price": "120.00", "currency": "EUR"}],
    "stock": [{"sku": HOT, "warehouse": w, "on_hand": n} for w, n in OPENING.items()],
}


def hot_checkout(order_id: str, *, backorder: bool) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer": {"id": f"cus-{order_id}", "email": "fan@example.com", "name": "Sneaker Fan"},
        "currency": "EUR", "lines": [{"sku": HOT, "quantity": 1}],
        "shipping": {"method": "standard",
                     "address": {"name": "Sneaker Fan", "line1": "Unter den Linden 1",
                                 "city": "Berlin", "postal_code": "10117", "country": "DE"}},
        "payment": {"method": "card", "token": "tok_visa"},
        "allow_backorder": backorder,
    }


# -- the stack: dev server and a worker process ------------------------------------------


# -- reading the books ---------------------------------------------------------------------

async def statuses(db: SessionFactory, order_ids: list[str]) -> dict[str, str]:
    """Each order's status as its workflow last recorded it."""
    async with db() as session:
        rows = await session.execute(text(
            "SELECT order_id, status FROM orders WHERE order_id = ANY(:ids)"), {"ids": order_ids})
        return {order_id: status for order_id, status in rows}


async def hot_levels(db: SessionFactory) -> dict[str, tuple[int, int]]:
    """warehouse -> (on_hand, reserved) of the hot SKU."""
    async with db() as session:
        rows = await session.execute(text(
            "SELECT warehouse, on_hand, reserved FROM stock_levels WHERE sku = :s"), {"s": HOT})
        return {w: (on_hand, reserved) for w, on_hand, reserved in rows}


async def lowest_salable_in_ledger(db: SessionFactory) -> int:
    """Replays the movement ledger level by level: the lowest on_hand - reserved ever reached.
    A level's movements are written under its row lock, so their ids follow its history."""
    async with db() as session:
        rows = (await session.execute(text(
            "SELECT warehouse, on_hand_delta, reserved_delta FROM stock_movements "
            "WHERE sku = :s ORDER BY id"), {"s": HOT})).all()
    running: Counter[str] = Counter()
    lowest = 0
    seeded: set[str] = set()
    for warehouse, on_hand, reserved in rows:
        running[warehouse] += on_hand - reserved
        seeded.add(warehouse)
        lowest = min(lowest, running[warehouse])
    assert seeded == set(OPENING)
    return lowest


async def low_stock(db: SessionFactory) -> set[str]:
    """Warehouses with an open low-stock alert for the hot SKU."""
    return {a.warehouse for a in await StockService(db).alerts() if a.sku == HOT}


async def payment_kinds(db: SessionFactory, order_ids: list[str]
                        ) -> dict[str, tuple[list[str], str]]:
    """order_id -> (kinds of fulfil's payment rows oldest first, the authorization)."""
    found: dict[str, tuple[list[str], str]] = {o: ([], "") for o in order_ids}
    async with db() as session:
        rows = await session.execute(text(
            "SELECT order_id, kind, gateway_ref FROM payments WHERE order_id = ANY(:ids) "
            "ORDER BY id"), {"ids": order_ids})
        for order_id, kind, ref in rows:
            kinds, authorization = found[order_id]
            found[order_id] = ([*kinds, kind], ref if kind == "authorize" else authorization)
    return found


async def waiting_backorders(db: SessionFactory) -> list[str]:
    """Orders waiting for the hot SKU, oldest backorder first."""
    async with db() as session:
        rows = await session.execute(text(
            "SELECT order_id FROM backorders WHERE sku = :s AND status = 'waiting' "
            "ORDER BY created_at, id"), {"s": HOT})
        return list(rows.scalars())


async def wait_until(db: SessionFactory, order_ids: list[str], done: Any, timeout_s: float,
                     what: str, lowest: list[int]) -> dict[str, str]:
    """Polls the recorded statuses until `done(statuses)`; samples salable stock meanwhile."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = await statuses(db, order_ids)
        for on_hand, reserved in (await hot_levels(db)).values():
            lowest[0] = min(lowest[0], on_hand - reserved)
        if done(seen):
            return seen
        assert time.monotonic() < deadline, (
            f"{what} not reached after {timeout_s:.0f}s: {Counter(seen.values())}")
        await asyncio.sleep(POLL_S)


async def workflow_statuses(client: Client, order_ids: list[str]) -> dict[str, str]:
    """Each order's status asked of its workflow (a query, not the database)."""
    gate = asyncio.Semaphore(20)

    async def one(order_id: str) -> tuple[str, str]:
        async with gate:
            handle = client.get_workflow_handle(order_workflow_id(order_id))
            return order_id, await handle.query(OrderWorkflow.status)

    return dict(await asyncio.gather(*(one(o) for o in order_ids)))


async def end_running(client: Client, order_ids: list[str]) -> None:
    """Terminates the orders still running (held in PICKING or waiting for stock)."""
    gate = asyncio.Semaphore(20)

    async def one(order_id: str) -> None:
        async with gate:
            handle = client.get_workflow_handle(order_workflow_id(order_id))
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("end of the concurrency test")

    await asyncio.gather(*(one(o) for o in order_ids), return_exceptions=True)


def report(figures: dict[str, Any]) -> None:
    print("\nconcurrent orders on one hot SKU:")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "concurrent_orders.json").write_text(json.dumps(figures, indent=2) + "\n")


# -- the test ------------------------------------------------------------------------------

async def test_200_orders_for_50_units_reserve_exactly_50_and_the_rest_wait_or_fail_cleanly(
        db: SessionFactory, database_url: str, dev_server: DevServer, tmp_path: Path):
    # Given one hot SKU with 30 units in Berlin and 20 in Hamburg, and a worker process
    await seed_catalogue(db, parse_seed(CATALOGUE))
    task_queue = f"hot-{uuid.uuid4().hex[:8]}"
    worker = await start_worker(database_url, dev_server.address, task_queue,
                                tmp_path / "worker.log")
    client = await Client.connect(dev_server.address)
    orders = OrderService(client, db, task_queue, TIMINGS)
    run = uuid.uuid4().hex[:6]
    backorder = {f"HOT-{run}-{n:03d}": n % 2 == 0 for n in range(ORDERS)}
    ids = list(backorder)
    lowest = [min(OPENING.values())]
    figures: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "orders": ORDERS,
        "backorder_allowed": sum(backorder.values()), "units": UNITS,
        "warehouses": dict(OPENING), "cpus": os.cpu_count()}
    try:
        # When 200 one-unit orders are placed at once, half of them accepting a backorder
        started = time.monotonic()
        placed: list[PlacedOrder] = await asyncio.gather(
            *(orders.place(hot_checkout(o, backorder=b)) for o, b in backorder.items()))
        figures["seconds_to_place_all"] = round(time.monotonic() - started, 2)
        assert all(p.created for p in placed)
        settled = await wait_until(
            db, ids, lambda seen: len(seen) == ORDERS and set(seen.values()) <= SETTLED,
            SETTLE_TIMEOUT_S, "every order PICKING, BACKORDERED or FAILED", lowest)
        # from the first placement until the last order stopped
        figures["seconds_until_settled"] = round(time.monotonic() - started, 2)
        figures["settled"] = dict(Counter(settled.values()))

        # Then exactly 50 orders hold a unit, and the workflows agree with the record
        assert await workflow_statuses(client, ids) == settled
        picking = sorted(o for o, s in settled.items() if s == "PICKING")
        waiting = sorted(o for o, s in settled.items() if s == "BACKORDERED")
        failed = sorted(o for o, s in settled.items() if s == "FAILED")
        assert len(picking) == UNITS
        assert all(backorder[o] for o in waiting) and not any(backorder[o] for o in failed)
        assert len(waiting) + len(failed) == ORDERS - UNITS
        assert len(waiting) == sum(backorder.values()) - sum(backorder[o] for o in picking)

        # ... 50 reserved, nothing taken out of the warehouses, never oversold
        assert await hot_levels(db) == {w: (n, n) for w, n in OPENING.items()}
        assert lowest[0] >= 0
        assert await lowest_salable_in_ledger(db) >= 0
        figures["lowest_salable_sampled"] = lowest[0]
        # ... and both sold-out levels are flagged (the reorder point is 0)
        assert await low_stock(db) == {"BER", "HAM"}

        # ... each order with stock captured, each without stock voided or still authorized
        gateway = SimulatedGateway(db, latency_ms=0)
        money = await payment_kinds(db, ids)
        assert all(money[o][0] == ["authorize", "capture"] for o in picking)
        assert all(money[o][0] == ["authorize"] for o in waiting)
        assert all(money[o][0] == ["authorize", "void"] for o in failed)
        for o in failed:
            authorization = money[o][1]
            assert await gateway.count_operations("void", authorization=authorization) == 1
            assert await gateway.count_operations("capture", authorization=authorization) == 0
        for o in waiting:
            held = await gateway.ledger(money[o][1])
            assert (held.captured.amount, held.voided) == (0, False)
            assert held.authorized.amount > 0

        # ... and every waiting order has its backorder, in the order they were registered
        queue = await waiting_backorders(db)
        assert sorted(queue) == waiting

        # When 10 units arrive in Berlin
        received_at = time.monotonic()
        receipt = await StockService(db, client).receive(HOT, "BER", RECEIVED,
                                                         reference="PO-HOT", actor="goods-in")

        # Then exactly the 10 oldest backorders are filled and move on to PICKING
        oldest, rest = queue[:RECEIVED], queue[RECEIVED:]
        assert [f.order_id for f in receipt.fills] == oldest
        assert all(f.order_complete for f in receipt.fills)
        await wait_until(db, oldest, lambda seen: set(seen.values()) == {"PICKING"},
                         FILL_TIMEOUT_S, "the filled orders PICKING", lowest)
        figures["seconds_filled_orders_to_picking"] = round(time.monotonic() - received_at, 2)
        # ... while the others, having polled for stock since, still wait
        await asyncio.sleep(TIMINGS.tracking_poll_s + 1)
        assert set((await statuses(db, rest)).values()) == {"BACKORDERED"}
        assert set((await workflow_statuses(client, rest)).values()) == {"BACKORDERED"}
        assert await waiting_backorders(db) == rest
        assert await hot_levels(db) == {"BER": (40, 40), "HAM": (20, 20)}
        # ... and Berlin, sold out again by the backorders it filled, is still flagged
        assert await low_stock(db) == {"BER", "HAM"}
        money = await payment_kinds(db, oldest)
        assert all(money[o][0] == ["authorize", "capture"] for o in oldest)
        assert lowest[0] >= 0 and await lowest_salable_in_ledger(db) >= 0
    except BaseException:
        print(f"\n--- worker log tail ---\n{worker.tail(40)}")
        raise
    finally:
        await end_running(client, ids)
        await worker.stop()
        report(figures)
