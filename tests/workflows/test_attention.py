"""Poison input never wedges an order: a bookkeeping write that can never succeed flags the
order for attention instead of being retried for ever, and the order's money and stock are
still unwound. The poison is sent straight through the Temporal client, past every edge
check, as a buggy or hostile caller could."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey, TypedSearchAttributes

from activities.db.attention_repository import AttentionRepository
from activities.db.catalogue_repository import CatalogueRepository
from activities.db.order_repository import OrderRepository
from activities.db.tables import OrderRow
from api.checkout import parse_checkout
from api.orders import OrderService
from domain.catalogue import price_order
from domain.errors import ActionRefused
from domain.returns import ReturnLine
from tests.support import checkout
from tests.workflows.checks import (
    HeldStock,
    allow_returns,
    confirm_pick_and_pack,
    deliver_now,
    event,
    eventually,
    kinds,
    money_moved,
    noted,
    opening_levels,
    payments,
    reach,
    refuse_returns,
    reservations,
    stock_levels,
)
from tests.workflows.conftest import MANUAL_TIMINGS, Stack
from workflows.order_contract import (
    CancelRequest,
    CarrierEvent,
    OrderInput,
    OrderResult,
    RetryRequest,
    ReturnRequest,
    WarehouseConfirmation,
    order_workflow_id,
)
from workflows.order_workflow import OrderWorkflow

TOTAL = 2 * 1999 + 490
# Real seconds: the time-skipping server runs a run that ends well inside this.
END_WITHIN_S = 30.0
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")


async def ended(handle: WorkflowHandle[Any, Any]) -> OrderResult:
    """The workflow's result, or a failure when it is still running (retrying for ever)."""
    try:
        return await asyncio.wait_for(handle.result(), END_WITHIN_S)
    except TimeoutError:
        raise AssertionError(f"order still running after {END_WITHIN_S}s: wedged") from None


async def flagged_row(stack: Stack, order_id: str) -> tuple[str, bool]:
    async with stack.db() as session:
        row = (await session.execute(select(OrderRow.status, OrderRow.attention).where(
            OrderRow.order_id == order_id))).one()
    return row.status, row.attention


async def search_flag(handle: WorkflowHandle[Any, Any]) -> bool | None:
    attributes: TypedSearchAttributes = (await handle.describe()).typed_search_attributes
    return attributes.get(NEEDS_ATTENTION)


async def assert_unwound_after_capture(stack: Stack, order_id: str, refunded: int) -> None:
    """Everything captured came back and the held stock is salable again."""
    assert await stock_levels(stack.db) == opening_levels()
    assert await reservations(stack.db, order_id) == [
        HeldStock("released", [("TEE-BLK-M", "BER", 2)])]
    assert sum(amount for kind, amount in await payments(stack.db, order_id)
               if kind == "refund") == refunded == TOTAL
    (ledger,) = await stack.gateway.authorizations_for("cus_42")
    assert (ledger.captured.amount, ledger.refunded.amount) == (TOTAL, TOTAL)


async def test_cancel_reason_with_nul_still_unwinds_and_flags_the_order(stack: Stack,
                                                                        manual_orders):
    # Given a paid order waiting in PICKING
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When a cancel signal carries a NUL byte in its reason, which PostgreSQL cannot store
    await placed.handle.signal(OrderWorkflow.cancel_signal,
                               CancelRequest("fraud\x00check", "risk"))

    # Then the order is still cancelled and unwound, not retried for ever
    result = await ended(placed.handle)
    assert (result.status, result.failure) == ("CANCELLED", "fraud\x00check")
    await assert_unwound_after_capture(stack, order_id, TOTAL)
    # ...and it is flagged: view, search attribute, order row and timeline
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.attention and "record_event" in view.attention[0]
    assert await search_flag(placed.handle) is True
    assert await flagged_row(stack, order_id) == ("CANCELLED", True)
    async with stack.db() as session:
        recorded = await OrderRepository(session).events(order_id)
    notes = [e for e in recorded if e.kind == "attention.needed"]
    assert notes and all("\x00" not in e.detail for e in recorded)
    assert "PermanentDataError" in notes[0].detail
    # The event that could not be written is kept, escaped, so the record matches the story
    assert event(view.timeline, "compensation.started").detail == "fraud\x00check"
    assert [(e.seq, e.kind) for e in recorded] == [(e.seq, e.kind) for e in view.timeline]
    assert [e.detail for e in recorded if e.kind == "order.cancelled"] == ["fraud\\x00check"]


async def test_flagged_order_can_still_be_cancelled_by_support(stack: Stack, manual_orders):
    # Given a paid order whose pick note could not be written (NUL in the picker's name)
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")
    await placed.handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation("ann\x00"))

    await attention_count(placed.handle, 1)
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"
    assert await search_flag(placed.handle) is True

    # When support cancels it
    view = await stack.orders.cancel(order_id, "customer gave up", actor="agent-7")

    # Then the rest of the capture is refunded and the reservation released
    assert view.status == "CANCELLED"
    assert (await ended(placed.handle)).status == "CANCELLED"
    await assert_unwound_after_capture(stack, order_id, TOTAL)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    assert await flagged_row(stack, order_id) == ("CANCELLED", True)
    assert kinds(view.timeline)[-4:] == ["compensation.started", "stock.released",
                                         "payment.refunded", "order.cancelled"]


async def test_order_whose_row_cannot_be_written_fails_before_payment(stack: Stack):
    # Given a priced order whose customer name PostgreSQL cannot store
    request = parse_checkout(checkout())
    async with stack.db() as session:
        catalogue = await CatalogueRepository(session).load()
    order = price_order(request, catalogue)
    order = replace(order, customer=replace(order.customer, name="Ada\x00Lovelace"))

    # When its workflow is started straight through the Temporal client
    handle = await stack.orders.client.start_workflow(
        OrderWorkflow.run, OrderInput(order, MANUAL_TIMINGS),
        id=order_workflow_id(order.order_id), task_queue=stack.orders.task_queue)

    # Then it fails cleanly before any money moves, flagged for attention
    result = await ended(handle)
    assert result.status == "FAILED"
    assert "record_order" in result.failure
    assert await money_moved(stack) == {"authorize": 0, "capture": 0, "void": 0, "refund": 0}
    assert await reservations(stack.db, order.order_id) == []
    assert await search_flag(handle) is True
    view = await handle.query(OrderWorkflow.view)
    assert view.status == "FAILED" and view.attention


async def test_undo_or_bookkeeping_failing_for_good_waits_for_support_flagged(
        stack: Stack, manual_orders):
    # Given a delivered order
    placed = await manual_orders.place(checkout())
    await deliver_now(placed.handle)

    # When a return is requested with a comment PostgreSQL cannot store
    # (the update never completes while the order waits for support)
    requested = asyncio.create_task(placed.handle.execute_update(
        OrderWorkflow.request_return,
        ReturnRequest([ReturnLine("TEE-BLK-M", 1)], "CHANGED_MIND", comment="too\x00big")))

    # Then the return's bookkeeping is not retried for ever: the order is flagged and waits
    await attention_count(placed.handle, 1)
    view = await placed.handle.query(OrderWorkflow.view)
    assert "open_return failed (PermanentDataError)" in view.attention[0]
    assert view.status == "DELIVERED"
    assert await search_flag(placed.handle) is True
    assert await flagged_row(stack, placed.order.order_id) == ("DELIVERED", True)
    # ...and support's retry runs the step once more (here it fails again, and says so)
    await placed.handle.signal(OrderWorkflow.retry_signal, RetryRequest("agent-7"))
    await attention_count(placed.handle, 2)
    assert not requested.done()
    requested.cancel()
    await asyncio.gather(requested, return_exceptions=True)


async def attention_count(handle: WorkflowHandle[Any, Any], count: int) -> None:
    """Waits until the order has been flagged `count` times."""
    async with asyncio.timeout(END_WITHIN_S):
        # Polled gently: queries in a tight loop starve the activity the time-skipping
        # server is about to hand out.
        while len((await handle.query(OrderWorkflow.view)).attention) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.3)


async def test_carrier_event_location_with_nul_flags_the_order_which_still_completes(
        stack: Stack, manual_orders):
    # Given an order handed to the carrier
    placed = await manual_orders.place(checkout())
    await confirm_pick_and_pack(placed.handle)

    # When the carrier pushes a scan whose location holds a NUL byte, then the delivery
    await placed.handle.signal(OrderWorkflow.carrier_event, CarrierEvent(
        "in_transit", datetime.now(UTC), "Ber\x00lin", "Sorted"))
    await attention_count(placed.handle, 1)
    await placed.handle.signal(OrderWorkflow.carrier_event, CarrierEvent(
        "delivered", datetime.now(UTC), "Berlin, DE", "Delivered"))

    # Then the order goes on to completion, flagged, its record matching its story
    assert (await ended(placed.handle)).status == "COMPLETED"
    assert await flagged_row(stack, placed.order.order_id) == ("COMPLETED", True)
    view = await placed.handle.query(OrderWorkflow.view)
    async with stack.db() as session:
        recorded = await OrderRepository(session).events(placed.order.order_id)
    assert [(e.seq, e.kind) for e in recorded] == [(e.seq, e.kind) for e in view.timeline]
    assert all("\x00" not in e.detail for e in recorded)


async def test_support_fixes_the_cause_retries_and_the_flag_is_lowered(
        stack: Stack, manual_orders: OrderService):
    # Given a delivered order, and a database that refuses every return for good
    placed = await manual_orders.place(checkout())
    await deliver_now(placed.handle)
    await refuse_returns(stack.db)
    try:
        await _support_fixes_and_retries(stack, manual_orders, placed)
    finally:
        await allow_returns(stack.db)


async def _support_fixes_and_retries(stack: Stack, manual_orders: OrderService,
                                     placed: Any) -> None:
    order_id = placed.order.order_id
    with pytest.raises(ActionRefused, match="no step of this order is waiting for a retry"):
        await manual_orders.retry(order_id, actor="agent-7")

    # When a return is asked for, its bookkeeping fails beyond retry and waits for support
    requested = asyncio.create_task(placed.handle.execute_update(
        OrderWorkflow.request_return,
        ReturnRequest([ReturnLine("TEE-BLK-M", 1)], "CHANGED_MIND")))
    await attention_count(placed.handle, 1)
    assert (await placed.handle.query(OrderWorkflow.view)).waiting_for_support == ["open_return"]
    assert await eventually(lambda: _row_flag_is(stack, order_id, True), "row flagged")

    # And support removes the cause and asks for the step again
    await allow_returns(stack.db)
    await manual_orders.retry(order_id, actor="agent-7")

    # Then the return opens, the timeline says who resolved it, and the flag is lowered
    # on the order, in its row, in Temporal and on the dashboard's list
    opened = await asyncio.wait_for(requested, END_WITHIN_S)
    assert opened.rma
    resolved = await noted(placed.handle, "attention.resolved")
    assert (resolved.actor, resolved.detail) == ("agent-7", "open_return went through on retry")
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.waiting_for_support == [] and len(view.attention) == 1
    assert await eventually(lambda: _flag_is(placed.handle, False), "NeedsAttention false")
    assert await eventually(lambda: _row_flag_is(stack, order_id, False), "row unflagged")
    async with stack.db() as session:
        assert await AttentionRepository(session).flagged_orders() == []
        assert await AttentionRepository(session).count_flagged_orders() == 1


async def _flag_is(handle: WorkflowHandle[Any, Any], value: bool) -> bool:
    return await search_flag(handle) is value


async def _row_flag_is(stack: Stack, order_id: str, value: bool) -> bool:
    return (await flagged_row(stack, order_id))[1] is value
