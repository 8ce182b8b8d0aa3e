"""Returns, their receipt and decision, a parcel that did not arrive, and the rating over
HTTP: each answered through the order's workflow, each refusal a problem with its reason,
and the acting key's name on the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from api.http.services import ApiServices
from tests.api.conftest import Keys, bearer, client_for
from tests.support import checkout
from tests.workflows.checks import deliver_now, noted
from tests.workflows.conftest import TIMINGS, Stack, manual_service


async def delivered(stack: Stack) -> tuple[str, Any]:
    placed = await manual_service(stack).place(checkout())
    await deliver_now(placed.handle)
    return placed.order.order_id, placed.handle


async def test_support_opens_a_return_the_warehouse_receives_it_and_it_is_refunded(
        stack: Stack, keys: Keys) -> None:
    order_id, handle = await delivered(stack)
    async with client_for(ApiServices.of(manual_service(stack))) as api:
        # The storefront may not open returns; support may
        body = {"lines": [{"sku": "TEE-BLK-M", "quantity": 1}], "reason": "SIZE_TOO_LARGE"}
        refused = await api.post(f"/v1/orders/{order_id}/returns", json=body,
                                 headers=bearer(keys.storefront))
        assert refused.status_code == 403
        opened = await api.post(f"/v1/orders/{order_id}/returns", json=body,
                                headers=bearer(keys.support))
        assert opened.status_code == 200, opened.text
        rma = opened.json()["rma"]
        assert opened.json()["label_url"].startswith("https://")

        # The warehouse books the parcel: resellable, so it is refunded at once
        receipt = {"lines": [{"sku": "TEE-BLK-M", "resellable": 1}]}
        assert (await api.post(f"/v1/returns/{rma}/receipt", json=receipt,
                               headers=bearer(keys.support))).status_code == 403
        received = await api.post(f"/v1/returns/{rma}/receipt", json=receipt,
                                  headers=bearer(keys.warehouse))
        assert received.status_code == 200, received.text
        assert received.json()["acceptance"] == "accepted"
        assert received.json()["refunded"]["amount"] == 1999

        # A second receipt is refused with the reason
        again = await api.post(f"/v1/returns/{rma}/receipt", json=receipt,
                               headers=bearer(keys.warehouse))
        assert again.status_code == 409
        assert "already received" in again.json()["detail"]

        order = (await api.get(f"/v1/orders/{order_id}", headers=bearer(keys.support))).json()
    assert order["status"] == "REFUNDED"
    assert order["returns"][0]["rma"] == rma
    actors = {e["kind"]: e["actor"] for e in order["timeline"]}
    assert actors["return.requested"] == "agent-7"
    assert actors["return.received"] == "picker-1"


async def test_bad_returns_are_refused_before_the_workflow_with_field_paths(
        stack: Stack, keys: Keys) -> None:
    order_id, _ = await delivered(stack)
    async with client_for(ApiServices.of(manual_service(stack))) as api:
        unknown_reason = await api.post(f"/v1/orders/{order_id}/returns", headers=bearer(
            keys.support), json={"lines": [{"sku": "TEE-BLK-M", "quantity": 1}],
                                 "reason": "UGLY"})
        too_many = await api.post(f"/v1/orders/{order_id}/returns", headers=bearer(
            keys.support), json={"lines": [{"sku": "TEE-BLK-M", "quantity": 5}],
                                 "reason": "CHANGED_MIND"})
        no_receipt = await api.post("/v1/returns/RMA-NOPE-1/receipt", headers=bearer(
            keys.warehouse), json={"lines": [{"sku": "TEE-BLK-M", "resellable": 1}]})
    assert unknown_reason.status_code == 422
    assert unknown_reason.json()["errors"][0]["field"] == "reason"
    assert too_many.status_code == 409
    assert "exceeds what can be returned (2)" in too_many.json()["detail"]
    assert no_receipt.status_code == 404


async def test_the_customer_rates_once_through_the_storefront(stack: Stack, keys: Keys) -> None:
    order_id, handle = await delivered(stack)
    await stack.env.sleep(timedelta(seconds=TIMINGS.survey_after_s + 60))
    await noted(handle, "survey.sent")
    async with client_for(ApiServices.of(manual_service(stack))) as api:
        rated = await api.post(f"/v1/orders/{order_id}/rating", json={"rating": 5},
                               headers=bearer(keys.storefront))
        again = await api.post(f"/v1/orders/{order_id}/rating", json={"rating": 2},
                               headers=bearer(keys.storefront))
        out_of_range = await api.post(f"/v1/orders/{order_id}/rating", json={"rating": 0},
                                      headers=bearer(keys.storefront))
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    assert again.status_code == 409 and again.json()["detail"] == "this order has already been rated"
    assert out_of_range.status_code == 422


async def test_support_refunds_a_parcel_the_carrier_sent_back(stack: Stack, keys: Keys,
                                                              api: httpx.AsyncClient) -> None:
    placed = await stack.orders.place(checkout(postal_code="99002"))
    await stack.env.sleep(timedelta(days=1))
    await noted(placed.handle, "shipment.awaiting_decision")
    bad = await api.post(f"/v1/orders/{placed.order.order_id}/delivery-decision",
                         json={"action": "shrug"}, headers=bearer(keys.support))
    decided = await api.post(f"/v1/orders/{placed.order.order_id}/delivery-decision",
                             json={"action": "refund"}, headers=bearer(keys.support))
    assert bad.status_code == 422
    assert decided.status_code == 200, decided.text
    assert (await placed.handle.result()).status == "COMPLETED"
