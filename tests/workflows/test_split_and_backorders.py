"""Orders served from several warehouses, and orders that wait for stock."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

from sqlalchemy import select

from activities.db.tables import BackorderRow, IncomingStockRow
from api.orders import OrderService
from api.stock import StockService
from tests.support import checkout
from tests.workflows.checks import (
    Level,
    kinds,
    labels,
    payments,
    reach,
    reservations,
    stock_levels,
)
from tests.workflows.conftest import MANUAL_TIMINGS, TIMINGS, Stack
from workflows.order_contract import WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

TEES_12 = [{"sku": "TEE-BLK-M", "quantity": 12}]  # BER holds 10, HAM 5: no single warehouse
BACKORDER_TIMINGS = replace(TIMINGS, backorder_deadline_s=7 * 86400)


def orders_with(stack: Stack, timings) -> OrderService:  # type: ignore[no-untyped-def]
    return OrderService(stack.orders.client, stack.db, stack.orders.task_queue, timings)


async def receive(stack: Stack, sku: str, warehouse: str, quantity: int) -> None:
    service = StockService(stack.db, client=stack.orders.client)
    await service.receive(sku=sku, warehouse=warehouse, quantity=quantity,
                          reference="PO-1", actor="goods-in")


async def test_an_order_no_single_warehouse_can_fill_ships_in_two_parcels(stack: Stack):
    # Given 12 T-shirts wanted, 10 in Berlin and 5 in Hamburg
    placed = await stack.orders.place(checkout(lines=TEES_12))

    # When the order runs to its end
    result = await placed.handle.result()

    # Then it shipped a parcel from each warehouse, one status at a time
    assert result.status == "COMPLETED"
    view = await placed.handle.query(OrderWorkflow.view)
    assert [(s.warehouse, [(line.sku, line.quantity) for line in s.lines])
            for s in view.shipments] == [("BER", [("TEE-BLK-M", 10)]),
                                         ("HAM", [("TEE-BLK-M", 2)])]
    statuses = [e.status for e in view.timeline]
    assert "PARTIALLY_SHIPPED" in statuses
    assert statuses.index("PARTIALLY_SHIPPED") < statuses.index("SHIPPED")
    assert kinds(view.timeline).count("shipment.parcel_delivered") == 2
    levels = await stock_levels(stack.db)
    assert levels[("TEE-BLK-M", "BER")] == Level(0, 0)
    assert levels[("TEE-BLK-M", "HAM")] == Level(3, 0)
    assert len(await labels(stack, placed.order.order_id)) == 2
    assert [kind for kind, _ in await payments(stack.db, placed.order.order_id)] == [
        "authorize", "capture"]
    assert (await reservations(stack.db, placed.order.order_id))[0].status == "shipped"


async def test_a_split_order_needs_the_warehouse_named_on_each_confirmation(stack: Stack):
    # Given a split order in a manual warehouse
    placed = await orders_with(stack, MANUAL_TIMINGS).place(checkout(lines=TEES_12))
    await reach(placed.handle, "PICKING")

    # When the warehouse confirms a pick without saying which warehouse
    await placed.handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation("picker"))
    refused = await _noted(placed.handle, "warehouse.pick_refused")

    # Then it is refused, naming both; named confirmations move each parcel on its own
    assert "BER, HAM" in refused
    for warehouse in ("HAM", "BER"):
        await placed.handle.signal(OrderWorkflow.confirm_pick,
                                   WarehouseConfirmation("picker", warehouse))
        await placed.handle.signal(OrderWorkflow.confirm_pack,
                                   WarehouseConfirmation("packer", warehouse))
    await reach(placed.handle, "SHIPPED")


async def test_a_backordered_order_waits_and_a_receipt_fills_it(stack: Stack):
    # Given 20 T-shirts wanted with only 15 in stock, and 5 expected next week
    async with stack.db.begin() as session:
        session.add(IncomingStockRow(sku="TEE-BLK-M", warehouse="BER", quantity=5,
                                     expected_at=_next_week(), reference="PO-1"))
    orders = orders_with(stack, BACKORDER_TIMINGS)
    placed = await orders.place(checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 20}],
                                         allow_backorder=True))
    await reach(placed.handle, "BACKORDERED")
    view = await placed.handle.query(OrderWorkflow.view)
    assert [(b.sku, b.quantity) for b in view.backorders] == [("TEE-BLK-M", 5)]
    assert view.backorders[0].expected_at is not None
    assert "expected" in view.timeline[-1].detail

    # When the purchase order arrives
    await receive(stack, "TEE-BLK-M", "BER", 5)

    # Then the order holds all 20, is charged in full, and ships
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    order_id = placed.order.order_id
    assert [kind for kind, _ in await payments(stack.db, order_id)] == ["authorize", "capture"]
    levels = await stock_levels(stack.db)
    assert levels[("TEE-BLK-M", "BER")] == Level(0, 0)
    assert levels[("TEE-BLK-M", "HAM")] == Level(0, 0)
    async with stack.db() as session:
        rows = (await session.scalars(select(BackorderRow))).all()
    assert [(r.status, r.filled) for r in rows] == [("filled", 5)]


async def test_at_the_deadline_an_order_goes_on_with_what_it_holds_and_is_charged_for_it(
        stack: Stack):
    # Given 20 T-shirts wanted, 15 in stock, and no receipt before the deadline
    placed = await orders_with(stack, BACKORDER_TIMINGS).place(
        checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 20}], allow_backorder=True))

    # When the deadline passes
    result = await placed.handle.result()

    # Then 15 ship, the 5 missing are dropped, and only 15 are charged
    assert result.status == "COMPLETED"
    view = await placed.handle.query(OrderWorkflow.view)
    assert "stock.backorder_dropped" in kinds(view.timeline)
    assert view.payment.captured.amount == view.payment.authorized.amount - 5 * 1999
    assert sum(line.quantity for s in view.shipments for line in s.lines) == 15


async def test_an_order_with_nothing_in_stock_is_cancelled_at_the_deadline_and_voided(
        stack: Stack):
    # Given the only cap sold, and a second order for one that waits
    first = await stack.orders.place(checkout(lines=[{"sku": "CAP-NAVY", "quantity": 1}]))
    await reach(first.handle, "PICKING")
    placed = await orders_with(stack, BACKORDER_TIMINGS).place(
        checkout(lines=[{"sku": "CAP-NAVY", "quantity": 1}], allow_backorder=True))

    # When the deadline passes without a receipt
    result = await placed.handle.result()

    # Then it is cancelled, nothing held, the authorization voided
    assert result.status == "CANCELLED"
    assert [kind for kind, _ in await payments(stack.db, placed.order.order_id)] == [
        "authorize", "void"]


async def test_a_backordered_order_can_be_cancelled_and_its_partial_hold_is_released(
        stack: Stack):
    placed = await orders_with(stack, BACKORDER_TIMINGS).place(
        checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 20}], allow_backorder=True))
    await reach(placed.handle, "BACKORDERED")

    view = await stack.orders.cancel(placed.order.order_id, "too slow", actor="support")

    assert view.status == "CANCELLED"
    levels = await stock_levels(stack.db)
    assert levels[("TEE-BLK-M", "BER")] == Level(10, 0)
    assert levels[("TEE-BLK-M", "HAM")] == Level(5, 0)
    async with stack.db() as session:
        rows = (await session.scalars(select(BackorderRow))).all()
    assert [r.status for r in rows] == ["cancelled"]


async def test_an_order_that_may_not_wait_fails_when_stock_is_short(stack: Stack):
    placed = await stack.orders.place(checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 20}]))
    result = await placed.handle.result()
    assert result.status == "FAILED"
    assert "short by 5" in result.failure


async def _noted(handle, kind: str) -> str:  # type: ignore[no-untyped-def]
    from tests.workflows.checks import noted

    return (await noted(handle, kind)).detail


def _next_week():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(days=7)


async def test_a_campaign_order_draws_on_held_stock_that_ordinary_orders_cannot_take(
        stack: Stack):
    # Given a running campaign holding 8 of Berlin's 10 T-shirts
    from datetime import UTC, datetime, timedelta

    from api.campaigns import CampaignService

    code = f"SALE{uuid4().hex[:6].upper()}"
    now = datetime.now(UTC)
    await CampaignService(stack.orders.client, stack.db, stack.orders.task_queue).create(
        code, "Sale", now - timedelta(hours=1), now + timedelta(days=3650),
        [("TEE-BLK-M", "BER", 8)])
    manual = orders_with(stack, MANUAL_TIMINGS)

    # When an order with the code and an ordinary one each want 3
    with_code = await manual.place(checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 3}],
                                            campaign=code))
    ordinary = await manual.place(checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 3}]))
    await reach(with_code.handle, "PICKING")
    await reach(ordinary.handle, "PICKING")

    # Then the campaign order holds campaign units in Berlin, while for the ordinary order
    # Berlin has only 2 free units: Hamburg, which can fill it alone, serves it
    assert await campaign_lines(stack, with_code.order.order_id) == [
        ("TEE-BLK-M", "BER", 3, code)]
    assert await campaign_lines(stack, ordinary.order.order_id) == [
        ("TEE-BLK-M", "HAM", 3, "")]


async def test_a_partly_filled_backorder_that_is_cancelled_releases_what_the_receipt_gave(
        stack: Stack):
    # Given the only cap sold, and an order for 3 more that waits
    first = await stack.orders.place(checkout(lines=[{"sku": "CAP-NAVY", "quantity": 1}]))
    await reach(first.handle, "PICKING")
    placed = await orders_with(stack, BACKORDER_TIMINGS).place(
        checkout(lines=[{"sku": "CAP-NAVY", "quantity": 3}], allow_backorder=True))
    await reach(placed.handle, "BACKORDERED")

    # When a receipt gives it 2 of the 3 and support then cancels it
    await receive(stack, "CAP-NAVY", "HAM", 2)
    view = await stack.orders.cancel(placed.order.order_id, "no longer wanted")

    # Then the 2 received units are free again; only the first order's cap stays held
    assert view.status == "CANCELLED"
    assert (await stock_levels(stack.db))[("CAP-NAVY", "HAM")] == Level(3, 1)
    assert "stock.released" in kinds(view.timeline)


async def campaign_lines(stack: Stack, order_id: str) -> list[tuple[str, str, int, str]]:
    from activities.db.tables import ReservationLineRow, ReservationRow

    async with stack.db() as session:
        rows = await session.execute(
            select(ReservationLineRow.sku, ReservationLineRow.warehouse,
                   ReservationLineRow.quantity, ReservationLineRow.campaign)
            .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
            .where(ReservationRow.order_id == order_id)
            .order_by(ReservationLineRow.warehouse))
        return [tuple(row) for row in rows]  # type: ignore[misc]
