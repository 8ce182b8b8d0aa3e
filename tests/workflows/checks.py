"""What the workflow tests look at after an order has run: the order's own record in
PostgreSQL, the stock it holds, the money it moved and the labels it bought."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import zip_longest
from typing import Any

from sqlalchemy import select, text
from temporalio.client import WorkflowHandle

from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository, PaymentRepository, ShipmentRepository
from activities.db.tables import ReservationLineRow, ReservationRow, StockLevelRow
from tests.support import CATALOGUE
from tests.workflows.conftest import Stack
from workflows.order_contract import CarrierEvent, TimelineEvent, WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

# (sku, warehouse) -> on_hand as seeded, nothing reserved.
OPENING_STOCK: dict[tuple[str, str], int] = {
    (row["sku"], row["warehouse"]): row["on_hand"] for row in CATALOGUE["stock"]}
WAIT_S = 10.0


@dataclass(frozen=True)
class Level:
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class HeldStock:
    status: str  # held | released | shipped
    lines: list[tuple[str, str, int]]  # (sku, warehouse, quantity)


# -- reading the books ---------------------------------------------------------------------

async def stock_levels(db: SessionFactory) -> dict[tuple[str, str], Level]:
    async with db() as session:
        rows = await session.scalars(select(StockLevelRow))
        return {(r.sku, r.warehouse): Level(r.on_hand, r.reserved) for r in rows}


def opening_levels(shipped: dict[tuple[str, str], int] | None = None
                   ) -> dict[tuple[str, str], Level]:
    """The seeded levels with nothing reserved, less the units `shipped` per (sku, warehouse)."""
    gone = shipped or {}
    return {key: Level(on_hand - gone.get(key, 0), 0) for key, on_hand in OPENING_STOCK.items()}


async def reservations(db: SessionFactory, order_id: str) -> list[HeldStock]:
    async with db() as session:
        rows = (await session.scalars(select(ReservationRow).where(
            ReservationRow.order_id == order_id).order_by(ReservationRow.id))).all()
        result = []
        for row in rows:
            lines = (await session.scalars(select(ReservationLineRow).where(
                ReservationLineRow.reservation_id == row.id).order_by(
                ReservationLineRow.sku, ReservationLineRow.warehouse))).all()
            result.append(HeldStock(row.status, [(x.sku, x.warehouse, x.quantity) for x in lines]))
        return result


async def payments(db: SessionFactory, order_id: str) -> list[tuple[str, int]]:
    """fulfil's own record of the money moved: (kind, minor units), oldest first."""
    async with db() as session:
        rows = await PaymentRepository(session).for_order(order_id)
        return [(row.kind, row.amount) for row in rows]


async def shipment_statuses(db: SessionFactory, order_id: str) -> list[str]:
    async with db() as session:
        return [row.status for row in await ShipmentRepository(session).for_order(order_id)]


async def money_moved(stack: Stack) -> dict[str, int]:
    """How often the gateway really moved money, by kind (replays and declines excluded)."""
    kinds = ("authorize", "capture", "void", "refund")
    return {kind: await stack.gateway.count_operations(kind) for kind in kinds}


async def labels(stack: Stack, order_id: str) -> list[tuple[str, bool]]:
    """Every label any simulated carrier printed for the order: (status, cancelled)."""
    found = []
    for carrier in stack.carriers.values():
        found += [(s.status, s.cancelled) for s in await carrier.shipments_for(order_id)]
    return found


def kinds(timeline: list[TimelineEvent]) -> list[str]:
    return [event.kind for event in timeline]


def event(timeline: list[TimelineEvent], kind: str) -> TimelineEvent:
    matches = [e for e in timeline if e.kind == kind]
    assert len(matches) == 1, f"{kind} occurs {len(matches)} times in {kinds(timeline)}"
    return matches[0]


# -- the record must agree with the workflow -----------------------------------------------

async def assert_recorded(stack: Stack, handle: WorkflowHandle[Any, Any], order_id: str,
                          status: str) -> list[TimelineEvent]:
    """The workflow ended in `status`, and orders/order_events say exactly the same."""
    timeline = await handle.query(OrderWorkflow.timeline)
    assert await handle.query(OrderWorkflow.status) == status
    assert timeline[-1].status == status
    assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1))
    async with stack.db() as session:
        repo = OrderRepository(session)
        row = await repo.get(order_id)
        events = await repo.events(order_id)
    assert row is not None and row.status == status
    recorded = [(e.seq, e.at, e.status, e.kind, e.detail, e.actor) for e in events]
    noted = [(e.seq, e.at, e.status, e.kind, e.detail, e.actor) for e in timeline]
    assert recorded == noted, "\n".join(
        f"{'  ' if r == n else '!='} {r}\n   {n}" for r, n in zip_longest(recorded, noted))
    return timeline


# -- driving an order from outside ---------------------------------------------------------

async def eventually(probe: Callable[[], Any], what: str) -> Any:
    """Polls `probe` (async) until it returns something truthy, in real time."""
    try:
        async with asyncio.timeout(WAIT_S):
            while True:  # the workflow is remote: nothing to await but its answers
                found = await probe()
                if found:
                    return found
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def reach(handle: WorkflowHandle[Any, Any], status: str) -> None:
    async def there() -> bool:
        return await handle.query(OrderWorkflow.status) == status
    await eventually(there, f"status {status}")


async def noted(handle: WorkflowHandle[Any, Any], kind: str) -> TimelineEvent:
    async def find() -> TimelineEvent | None:
        timeline = await handle.query(OrderWorkflow.timeline)
        return next((e for e in timeline if e.kind == kind), None)
    return await eventually(find, f"timeline event {kind}")


async def confirm_pick_and_pack(handle: WorkflowHandle[Any, Any], actor: str = "warehouse") -> None:
    """Plays the warehouse staff of a manual warehouse: pick, then pack; the order ships."""
    await reach(handle, "PICKING")
    await handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation(actor))
    await handle.signal(OrderWorkflow.confirm_pack, WarehouseConfirmation(actor))
    await reach(handle, "SHIPPED")


async def deliver_now(handle: WorkflowHandle[Any, Any]) -> None:
    """Ships a manual-warehouse order and pushes the carrier's delivery: the order then
    sits in DELIVERED while its return window runs."""
    await confirm_pick_and_pack(handle)
    await handle.signal(OrderWorkflow.carrier_event,
                        CarrierEvent("delivered", datetime.now(UTC), "Berlin, DE", "Delivered"))
    await reach(handle, "DELIVERED")


# A fault PostgreSQL reports as a data error (SQLSTATE 22000): no retry of the write can fix
# it, but a person can, by removing it.
_REFUSE_RETURNS = (
    """CREATE FUNCTION refuse_returns() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'returns are refused' USING ERRCODE = '22000'; END $$""",
    """CREATE TRIGGER refuse_returns BEFORE INSERT ON returns
       FOR EACH ROW EXECUTE FUNCTION refuse_returns()""",
)
_ALLOW_RETURNS = ("DROP TRIGGER IF EXISTS refuse_returns ON returns",
                  "DROP FUNCTION IF EXISTS refuse_returns()")


async def refuse_returns(db: SessionFactory) -> None:
    """From now on, every return the database is asked to write fails for good."""
    await _execute(db, _REFUSE_RETURNS)


async def allow_returns(db: SessionFactory) -> None:
    await _execute(db, _ALLOW_RETURNS)


async def _execute(db: SessionFactory, statements: tuple[str, ...]) -> None:
    async with db.begin() as session:
        for statement in statements:
            await session.execute(text(statement))
