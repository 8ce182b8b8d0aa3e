"""Support's requests against an order that ended or that is asked twice: the caller gets a
refusal with the reason or the first outcome, never a bare RPC error and never a second
effect. (CI saw "update … not found" reach the API as a 500 when a generated cancel met an
order that closed between the running check and the update.) An order stopped from outside
is in tests/e2e/test_asks_on_stopped_orders.py: the time-skipping server stops skipping time
when a terminated workflow's activity completes."""

from __future__ import annotations

import pytest

from api.asks import ask
from domain.errors import ActionRefused
from domain.money import Money
from tests.support import checkout
from tests.workflows.checks import deliver_now, money_moved, payments
from tests.workflows.conftest import Stack, manual_service
from workflows.order_contract import REFUND, RefundRequest

TOTAL = 2 * 1999 + 490


async def test_an_update_to_an_order_that_completed_names_the_order_state(stack: Stack):
    # Given an order that ran to its end
    placed = await manual_service(stack).place(checkout())
    await deliver_now(placed.handle)
    await placed.handle.result()

    # When a refund reaches it afterwards
    with pytest.raises(ActionRefused) as refused:
        await ask(placed.handle, REFUND, RefundRequest(Money(500, "EUR"), "goodwill", "agent-1"))

    # Then the refusal names the order's own final state
    assert "order ended COMPLETED" in str(refused.value)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}


async def test_asking_again_with_the_same_request_id_refunds_once(stack: Stack):
    # Given a delivered order, and a refund whose answer the caller did not see
    placed = await manual_service(stack).place(checkout())
    await deliver_now(placed.handle)
    request = RefundRequest(Money(500, "EUR"), "goodwill", "agent-1")
    first = await ask(placed.handle, REFUND, request,
                      request_id="refund-after-lost-answer")

    # When the caller asks again with the same request id
    again = await ask(placed.handle, REFUND, request,
                      request_id="refund-after-lost-answer")

    # Then it gets the first outcome, and the money moved once
    assert again.payment.refunded == first.payment.refunded == Money(500, "EUR")
    assert await payments(stack.db, placed.order.order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", 500)]
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}


async def test_asking_again_after_the_order_ended_gets_the_first_outcome(stack: Stack):
    # Given a refund the order made, whose answer the caller lost, and the order then ended
    placed = await manual_service(stack).place(checkout())
    await deliver_now(placed.handle)
    request = RefundRequest(Money(500, "EUR"), "goodwill", "agent-1")
    first = await ask(placed.handle, REFUND, request, request_id="refund-before-the-end")
    await placed.handle.result()

    # When the caller asks again with the same request id
    again = await ask(placed.handle, REFUND, request, request_id="refund-before-the-end")

    # Then it gets the first outcome, not "order ended", and the money moved once
    assert again.payment.refunded == first.payment.refunded == Money(500, "EUR")
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
