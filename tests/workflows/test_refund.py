"""Refunds given by support while the order is open: partial, repeated, too large,
too early, racing each other, or declined by the gateway."""

from __future__ import annotations

import asyncio

import pytest

from activities.payments.simulator import SimulatedGateway
from domain.errors import ActionRefused
from domain.money import Money
from tests.support import checkout
from tests.workflows.checks import (
    WAIT_S,
    assert_recorded,
    deliver_now,
    event,
    kinds,
    money_moved,
    noted,
    opening_levels,
    payments,
    reach,
    stock_levels,
)
from tests.workflows.conftest import Stack, manual_service, running_stack
from tests.workflows.fakes import Held, RefusingRefunds
from workflows.order_contract import RefundRequest
from workflows.order_workflow import OrderWorkflow

TOTAL = 2 * 1999 + 490
SHIPPED = {("TEE-BLK-M", "BER"): 2}


async def delivered_order(stack: Stack):  # type: ignore[no-untyped-def]
    """An order delivered at once and now in its return window."""
    placed = await manual_service(stack).place(checkout())
    await deliver_now(placed.handle)
    return placed


async def test_partial_refunds_add_up_in_the_order_and_the_ledger(stack: Stack):
    # Given a delivered order of 44.88
    placed = await delivered_order(stack)
    order_id = placed.order.order_id

    # When support refunds 5.00 and then 7.50
    first = await stack.orders.refund(order_id, "5.00", "late delivery", actor="agent-1")
    second = await stack.orders.refund(order_id, "7.50", "scuffed print", actor="agent-2")

    # Then each answer carries the running total, and the gateway agrees
    assert first.payment.refunded == Money(500, "EUR")
    assert second.payment.refunded == Money(1250, "EUR")
    ledger = await stack.gateway.ledger(second.payment.authorization)
    assert (ledger.captured.amount, ledger.refunded.amount) == (TOTAL, 1250)
    assert await payments(stack.db, order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", 500), ("refund", 750)]
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 2}
    # and the order still completes when its return window ends, with both refunds noted
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    refunds = [(e.detail, e.actor, e.status) for e in timeline if e.kind == "payment.refunded"]
    assert refunds == [("5.00 EUR: late delivery", "agent-1", "DELIVERED"),
                       ("7.50 EUR: scuffed print", "agent-2", "DELIVERED")]
    assert (await placed.handle.query(OrderWorkflow.view)).payment.refunded.amount == 1250
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)


async def test_a_refund_beyond_the_balance_is_refused_and_nothing_moves(stack: Stack):
    # Given a delivered order of 44.88 with 5.00 refunded already
    placed = await delivered_order(stack)
    order_id = placed.order.order_id
    await stack.orders.refund(order_id, "5.00", "goodwill")

    # When support asks for 40.00 more
    with pytest.raises(ActionRefused) as refused:
        await stack.orders.refund(order_id, "40.00", "full refund")

    # Then the refusal names the refundable balance, and no money moves
    assert str(refused.value) == (
        "refund of 40.00 EUR exceeds the refundable balance of 39.88 EUR")
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.payment.refunded.amount == 500
    assert (await stack.gateway.ledger(view.payment.authorization)).refunded.amount == 500
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    # and the balance itself can still be refunded
    await stack.orders.refund(order_id, "39.88", "rest")
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert await payments(stack.db, order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", 500), ("refund", 3988)]
    assert (await stack.gateway.ledger(view.payment.authorization)).refunded.amount == TOTAL


async def test_a_refund_before_capture_is_refused(temporal_env, db):
    # Given an order whose capture is still in flight at the gateway
    gateway = Held(SimulatedGateway(db, latency_ms=0), "capture")
    async with running_stack(temporal_env, db, gateway=gateway) as stack:
        placed = await stack.orders.place(checkout())
        order_id = placed.order.order_id
        await asyncio.wait_for(gateway.reached.wait(), WAIT_S)
        assert await placed.handle.query(OrderWorkflow.status) == "STOCK_RESERVED"

        # When support asks for a refund
        with pytest.raises(ActionRefused, match="nothing has been captured yet"):
            await stack.orders.refund(order_id, "5.00", "too early")

        # Then nothing is refunded, and the order goes on once the capture returns
        gateway.opened.set()
        result = await placed.handle.result()
        assert result.status == "COMPLETED"
        timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
        assert "payment.refunded" not in kinds(timeline)
        assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
        assert await payments(stack.db, order_id) == [("authorize", TOTAL), ("capture", TOTAL)]


async def test_a_refund_signal_is_recorded_and_an_excessive_one_refused(stack: Stack):
    # Given a delivered order of 44.88
    placed = await delivered_order(stack)
    order_id = placed.order.order_id

    # When the refund signal asks for 5.00, and then another for 50.00
    await placed.handle.signal(OrderWorkflow.refund_signal,
                               RefundRequest(Money(500, "EUR"), "voucher", "crm"))
    refunded = await noted(placed.handle, "payment.refunded")
    await placed.handle.signal(OrderWorkflow.refund_signal,
                               RefundRequest(Money(5000, "EUR"), "everything", "crm"))
    refused = await noted(placed.handle, "refund.refused")

    # Then the first is paid and the second refused with the balance on the timeline
    assert (refunded.detail, refunded.actor) == ("5.00 EUR: voucher", "crm")
    assert refused.detail == "refund of 50.00 EUR exceeds the refundable balance of 39.88 EUR"
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.payment.refunded.amount == 500
    assert (await stack.gateway.ledger(view.payment.authorization)).refunded.amount == 500
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert await payments(stack.db, order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", 500)]
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}


async def test_two_refunds_racing_for_one_balance_cannot_both_pass(stack: Stack):
    # Given a delivered order of 44.88
    placed = await delivered_order(stack)
    order_id = placed.order.order_id

    # When two agents refund 30.00 each at the same moment
    outcomes = await asyncio.gather(
        stack.orders.refund(order_id, "30.00", "agent one", actor="agent-1"),
        stack.orders.refund(order_id, "30.00", "agent two", actor="agent-2"),
        return_exceptions=True)

    # Then exactly one refund is paid and the other is refused
    refusals = [o for o in outcomes if isinstance(o, ActionRefused)]
    assert len(refusals) == 1, outcomes
    assert "exceeds the refundable balance" in str(refusals[0])
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.payment.refunded.amount == 3000
    assert (await stack.gateway.ledger(view.payment.authorization)).refunded.amount == 3000
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert kinds(timeline).count("payment.refunded") == 1
    assert await payments(stack.db, order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", 3000)]


async def test_a_refund_the_gateway_declines_is_refused_and_the_order_goes_on(temporal_env, db):
    # Given a delivered order whose card account has since been closed
    gateway = RefusingRefunds(SimulatedGateway(db, latency_ms=0))
    async with running_stack(temporal_env, db, gateway=gateway) as stack:
        placed = await delivered_order(stack)
        order_id = placed.order.order_id

        # When support refunds 5.00, by update and then by signal
        with pytest.raises(ActionRefused) as refused:
            await asyncio.wait_for(stack.orders.refund(order_id, "5.00", "goodwill"), WAIT_S)
        await placed.handle.signal(OrderWorkflow.refund_signal,
                                   RefundRequest(Money(500, "EUR"), "goodwill", "crm"))

        # Then both are refused with the gateway's reason, and the order is not harmed
        assert str(refused.value) == RefusingRefunds.REFUSAL
        assert (await noted(placed.handle, "refund.refused")).detail == RefusingRefunds.REFUSAL
        view = await placed.handle.query(OrderWorkflow.view)
        assert (view.status, view.payment.refunded.amount) == ("DELIVERED", 0)
        result = await placed.handle.result()
        assert result.status == "COMPLETED"
        timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
        assert event(timeline, "refund.refused").actor == "crm"
        assert "payment.refunded" not in kinds(timeline)
        assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
        assert await payments(stack.db, order_id) == [("authorize", TOTAL), ("capture", TOTAL)]


async def test_a_refund_on_a_completed_order_is_refused(stack: Stack):
    # Given an order whose return window has closed
    placed = await stack.orders.place(checkout())
    await placed.handle.result()

    # When support asks for a refund
    with pytest.raises(ActionRefused, match="already COMPLETED"):
        await stack.orders.refund(placed.order.order_id, "5.00", "too late")

    # Then no money moves
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)


async def test_a_refund_while_picking_is_paid_and_the_order_ships(stack: Stack, manual_orders):
    # Given a captured order still in the warehouse
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    # When support refunds part of it
    view = await stack.orders.refund(placed.order.order_id, "4.90", "free shipping")

    # Then the refund is paid at once and the order still ships and completes
    assert (view.status, view.payment.refunded.amount) == ("PICKING", 490)
    await deliver_now(placed.handle)
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert event(timeline, "payment.refunded").status == "PICKING"
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
