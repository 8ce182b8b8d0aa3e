"""Records one OrderWorkflow history per business path, as test data for the replay tests.

Run it by hand when the workflow's behaviour changes on purpose, and commit the files:

    python -m tests.replay.record_histories [PATH ...]

It overwrites histories/<path>.json. The histories of the version before are what prove
that orders already running still replay: move them into a subfolder first
(histories/<what changed>/), where the replay tests keep reading them.

The orders run on the time-skipping test server with the real activities against a scratch
database on the tests' PostgreSQL (FULFIL_TEST_DATABASE_URL), which is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.client import WorkflowHandle

from activities.db.engine import SessionFactory, build_engine, build_session_factory
from activities.db.metadata import metadata
from activities.db.migrate import upgrade
from api.aftercare import AftercareService
from api.stock import StockService
from tests.conftest import ADMIN_URL, _admin_conninfo
from tests.support import checkout
from tests.workflows.checks import allow_returns, deliver_now, noted, reach, refuse_returns
from tests.workflows.conftest import Stack, _start_test_server, manual_service, running_stack
from workflows.order_contract import WarehouseConfirmation, order_workflow_id
from workflows.order_workflow import OrderWorkflow

HISTORIES = Path(__file__).with_name("histories")
Handle = WorkflowHandle[Any, Any]


def history_workflow_id(name: str) -> str:
    """The workflow id each recorded order ran under; the file is `histories/<name>.json`."""
    return order_workflow_id(f"REPLAY-{name}")


def _order(name: str, **changes: Any) -> dict[str, Any]:
    return checkout(order_id=f"REPLAY-{name}", **changes)


async def success(stack: Stack) -> Handle:
    placed = await stack.orders.place(_order("success"))
    return placed.handle


async def payment_declined(stack: Stack) -> Handle:
    placed = await stack.orders.place(_order("payment_declined", token="tok_declined"))
    return placed.handle


async def cancel_by_support(stack: Stack) -> Handle:
    placed = await manual_service(stack).place(_order("cancel_by_support"))
    await reach(placed.handle, "PICKING")
    await stack.orders.cancel(placed.order.order_id, "customer changed their mind")
    return placed.handle


async def partial_refund(stack: Stack) -> Handle:
    placed = await manual_service(stack).place(_order("partial_refund"))
    await deliver_now(placed.handle)
    await stack.orders.refund(placed.order.order_id, "5.00", "late delivery")
    return placed.handle


async def carrier_rejection(stack: Stack) -> Handle:
    placed = await stack.orders.place(_order("carrier_rejection", postal_code="00000"))
    return placed.handle


async def stock_shortage(stack: Stack) -> Handle:
    placed = await stack.orders.place(
        _order("stock_shortage", lines=[{"sku": "TEE-BLK-M", "quantity": 20}]))
    return placed.handle


async def split_shipment(stack: Stack) -> Handle:
    placed = await stack.orders.place(
        _order("split_shipment", lines=[{"sku": "TEE-BLK-M", "quantity": 12}]))
    return placed.handle


async def backorder_filled(stack: Stack) -> Handle:
    placed = await stack.orders.place(
        _order("backorder_filled", lines=[{"sku": "TEE-BLK-M", "quantity": 17}],
               allow_backorder=True))
    await reach(placed.handle, "BACKORDERED")
    await StockService(stack.db, stack.orders.client).receive(
        "TEE-BLK-M", "BER", 2, reference="PO-REPLAY", actor="goods-in")
    return placed.handle


async def return_refunded(stack: Stack) -> Handle:
    orders = manual_service(stack)
    placed = await orders.place(_order("return_refunded"))
    await deliver_now(placed.handle)
    aftercare = AftercareService(orders)
    opened = await aftercare.request_return(placed.order.order_id, {"TEE-BLK-M": 1},
                                            "DEFECTIVE", "stitching")
    await stack.env.sleep(timedelta(hours=4))
    await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "damaged")
    await aftercare.decide_return(opened.rma, accept=True)
    return placed.handle


async def exchange_and_rating(stack: Stack) -> Handle:
    orders = manual_service(stack)
    placed = await orders.place(_order("exchange_and_rating"))
    await deliver_now(placed.handle)
    aftercare = AftercareService(orders)
    opened = await aftercare.request_return(placed.order.order_id, {"TEE-BLK-M": 1},
                                            "SIZE_TOO_SMALL", exchange={"TEE-BLK-M": "TEE-BLK-L"})
    await stack.env.sleep(timedelta(hours=4))
    await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "resellable")
    await noted(placed.handle, "replacement.requested")
    for signal in (OrderWorkflow.confirm_pick, OrderWorkflow.confirm_pack):
        await placed.handle.signal(signal, WarehouseConfirmation("picker-1"))
    await stack.env.sleep(timedelta(days=4))
    await aftercare.rate(placed.order.order_id, 5, "the L fits")
    return placed.handle


async def lost_and_reshipped(stack: Stack) -> Handle:
    placed = await stack.orders.place(_order("lost_and_reshipped", postal_code="99003"))
    await stack.env.sleep(timedelta(days=1))
    await noted(placed.handle, "shipment.awaiting_decision")
    aftercare = AftercareService(stack.orders)
    await aftercare.resolve_delivery(placed.order.order_id, "reship")
    # The replacement goes to the same address, and is lost too: then it is refunded.
    await stack.env.sleep(timedelta(days=1))
    await aftercare.resolve_delivery(placed.order.order_id, "refund")
    return placed.handle


async def returned_to_sender(stack: Stack) -> Handle:
    placed = await stack.orders.place(_order("returned_to_sender", postal_code="99002"))
    await stack.env.sleep(timedelta(days=1))
    await noted(placed.handle, "shipment.awaiting_decision")
    await AftercareService(stack.orders).resolve_delivery(placed.order.order_id, "refund")
    return placed.handle


async def shipped_late(stack: Stack) -> Handle:
    placed = await manual_service(stack).place(_order("shipped_late"))
    await reach(placed.handle, "PICKING")
    await stack.env.sleep(timedelta(days=6))
    await deliver_now(placed.handle)
    return placed.handle


async def attention_retried(stack: Stack) -> Handle:
    """A return's bookkeeping fails beyond retry, waits for support, and goes through on
    support's retry once the cause is gone; the parcel comes back and is refunded."""
    placed = await manual_service(stack).place(_order("attention_retried"))
    await deliver_now(placed.handle)
    await refuse_returns(stack.db)
    try:
        requested = asyncio.create_task(AftercareService(stack.orders).request_return(
            placed.order.order_id, {"TEE-BLK-M": 1}, "CHANGED_MIND"))
        await noted(placed.handle, "attention.needed")
    finally:
        await allow_returns(stack.db)
    await stack.orders.retry(placed.order.order_id, actor="agent-7")
    opened = await requested
    await stack.env.sleep(timedelta(hours=4))
    await AftercareService(stack.orders).receive_return(opened.rma, {"TEE-BLK-M": 1},
                                                        "resellable")
    return placed.handle


# Each path, with the status its order must end in for the history to be worth keeping.
SCENARIOS: dict[str, tuple[Callable[[Stack], Awaitable[Handle]], str]] = {
    scenario.__name__: (scenario, status) for scenario, status in (
        (success, "COMPLETED"), (payment_declined, "PAYMENT_FAILED"),
        (cancel_by_support, "CANCELLED"), (partial_refund, "COMPLETED"),
        (carrier_rejection, "FAILED"), (stock_shortage, "FAILED"),
        (split_shipment, "COMPLETED"), (backorder_filled, "COMPLETED"),
        (return_refunded, "COMPLETED"), (exchange_and_rating, "COMPLETED"),
        (lost_and_reshipped, "COMPLETED"), (returned_to_sender, "COMPLETED"),
        (shipped_late, "COMPLETED"), (attention_retried, "COMPLETED"))
}


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database migrated to head, dropped on the way out."""
    name = f"fulfil_replay_{os.getpid()}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _empty(db: SessionFactory) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with db.begin() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def record(database_url: str, names: list[str]) -> None:
    """Records the named paths, or every path when none is named."""
    HISTORIES.mkdir(exist_ok=True)
    engine = build_engine(database_url)
    env = await _start_test_server()
    try:
        db = build_session_factory(engine)
        for name, (scenario, status) in SCENARIOS.items():
            if names and name not in names:
                continue
            await _empty(db)  # every order meets the freshly seeded stock
            async with running_stack(env, db) as stack:
                handle = await scenario(stack)
                result = await handle.result()
            assert (handle.id, result.status) == (history_workflow_id(name), status), result
            history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            print(f"{name}: {len(history.events)} events -> {HISTORIES / name}.json")
    finally:
        await env.shutdown()
        await engine.dispose()


def main() -> None:
    with scratch_database() as url:
        asyncio.run(record(url, sys.argv[1:]))


if __name__ == "__main__":
    main()
