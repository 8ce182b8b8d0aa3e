"""Reading, listing, cancelling and refunding orders over HTTP; the acting key's name lands
on the order's timeline."""

from __future__ import annotations

import httpx

from api.orders import OrderService
from tests.api.conftest import Keys, bearer
from tests.support import checkout
from tests.workflows.checks import deliver_now, eventually, reach
from tests.workflows.conftest import Stack

TOTAL = 2 * 1999 + 490


async def place(api: httpx.AsyncClient, keys: Keys, **changes) -> str:  # type: ignore[no-untyped-def]
    response = await api.post("/v1/orders", json=checkout(**changes),
                              headers=bearer(keys.storefront))
    assert response.status_code == 202, response.text
    return response.json()["order_id"]


def timeline_event(order: dict, kind: str) -> dict:
    (found,) = [e for e in order["timeline"] if e["kind"] == kind]
    return found


async def test_the_storefront_reads_an_order_as_its_workflow_sees_it(
        api: httpx.AsyncClient, keys: Keys):
    # Given a placed order
    order_id = await place(api, keys)

    # When the storefront asks for it
    response = await api.get(f"/v1/orders/{order_id}", headers=bearer(keys.storefront))

    # Then it gets the order view: lines, totals, timeline
    assert response.status_code == 200
    order = response.json()
    assert order["order_id"] == order_id
    assert order["totals"]["grand_total"]["amount"] == TOTAL
    assert order["lines"][0]["sku"] == "TEE-BLK-M"
    assert order["timeline"][0]["kind"]


async def test_an_unknown_order_is_a_404_problem(api: httpx.AsyncClient, keys: Keys):
    response = await api.get("/v1/orders/NOPE-1", headers=bearer(keys.storefront))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "no order 'NOPE-1'"


async def test_support_lists_the_orders_of_one_customer(api: httpx.AsyncClient, keys: Keys):
    # Given two orders of cus_42 and one of cus_7, recorded by their workflows
    ours = {await place(api, keys), await place(api, keys)}
    other = checkout()
    other["customer"] = {**other["customer"], "id": "cus_7"}
    await place(api, keys, customer=other["customer"])

    # When support lists cus_42's orders
    async def listed() -> set[str] | None:
        response = await api.get("/v1/orders", params={"customer_id": "cus_42", "limit": 10},
                                 headers=bearer(keys.support))
        assert response.status_code == 200
        found = {row["order_id"] for row in response.json()["orders"]}
        return found if found == ours else None

    # Then exactly those two come back
    assert await eventually(listed, "both orders of cus_42 listed") == ours


async def test_support_cancels_an_order_in_picking_and_is_named_on_the_timeline(
        api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given a paid order waiting in PICKING for the warehouse (placed by the service, whose
    # handle lets the time-skipping server jump over the waits in result())
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await reach(handle, "PICKING")

    # When agent-7 cancels it
    response = await api.post(f"/v1/orders/{order_id}/cancel",
                              json={"reason": "customer changed their mind"},
                              headers=bearer(keys.support))

    # Then the answer is the unwound order, and the timeline names agent-7
    assert response.status_code == 200
    order = response.json()
    assert (order["status"], order["failure"]) == ("CANCELLED", "customer changed their mind")
    assert order["payments"]["refunded"]["amount"] == TOTAL
    assert timeline_event(order, "order.cancelled")["actor"] == "agent-7"
    assert (await handle.result()).status == "CANCELLED"


async def test_cancelling_a_completed_order_is_a_409_with_the_reason(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given an order that ran to completion
    placed = await stack.orders.place(checkout())
    order_id = placed.order.order_id
    assert (await placed.handle.result()).status == "COMPLETED"

    # When support tries to cancel it
    response = await api.post(f"/v1/orders/{order_id}/cancel", json={"reason": "too late"},
                              headers=bearer(keys.support))

    # Then it is refused with the reason
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == (
        f"order {order_id!r} is already COMPLETED: it can no longer change")


async def test_support_refunds_part_of_a_delivered_order_but_not_more_than_was_paid(
        api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given a delivered order of 44.88 in its return window
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await deliver_now(handle)

    # When agent-7 refunds 5.00, then asks for 100.00 more
    refunded = await api.post(f"/v1/orders/{order_id}/refunds",
                                     json={"amount": "5.00", "reason": "late delivery"},
                                     headers=bearer(keys.support))
    too_much = await api.post(f"/v1/orders/{order_id}/refunds",
                                     json={"amount": "100.00", "reason": "goodwill"},
                                     headers=bearer(keys.support))

    # Then the first is given and noted with agent-7's name, the second refused with why
    assert refunded.status_code == 200
    order = refunded.json()
    assert order["payments"]["refunded"]["amount"] == 500
    assert [e["actor"] for e in order["timeline"] if e["kind"] == "payment.refunded"] == ["agent-7"]
    assert too_much.status_code == 409
    assert too_much.json()["title"] == "Action refused"
    assert too_much.json()["detail"] == (
        "refund of 100.00 EUR exceeds the refundable balance of 39.88 EUR")
    assert (await handle.result()).status == "COMPLETED"


async def test_a_refund_amount_that_is_no_sum_is_a_422_on_amount(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    order_id = await place(api, keys)

    response = await api.post(f"/v1/orders/{order_id}/refunds",
                                     json={"amount": "lots", "reason": "x"},
                                     headers=bearer(keys.support))
    missing_reason = await api.post(f"/v1/orders/{order_id}/cancel", json={},
                                           headers=bearer(keys.support))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"
    assert missing_reason.status_code == 422
    assert missing_reason.json()["errors"] == [{"field": "reason", "message": "Field required"}]


async def test_a_retry_with_no_step_waiting_is_a_409_and_the_storefront_may_not_ask(
        api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given an order in PICKING that nothing went wrong with
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When support asks to retry its failed step, then it is refused with the reason
    response = await api.post(f"/v1/orders/{order_id}/retry", headers=bearer(keys.support))
    assert response.status_code == 409
    assert response.json()["detail"] == "no step of this order is waiting for a retry"
    # And the storefront may not ask at all
    response = await api.post(f"/v1/orders/{order_id}/retry", headers=bearer(keys.storefront))
    assert response.status_code == 403
    # And the order's view says nothing waits
    order = (await api.get(f"/v1/orders/{order_id}", headers=bearer(keys.support))).json()
    assert (order["attention"], order["waiting_for_support"]) == ([], [])
