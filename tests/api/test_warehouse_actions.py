"""The warehouse over HTTP: goods receipts (which fill backorders), stock levels, and the
pick and pack confirmations that move a waiting order on; its key's name is the actor."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from activities.db.tables import StockMovementRow
from api.orders import OrderService
from tests.api.conftest import Keys, bearer
from tests.support import CATALOGUE, checkout
from tests.workflows.checks import reach
from tests.workflows.conftest import Stack

PROBLEM = "application/problem+json"


async def receive(api: httpx.AsyncClient, key: str, **body: object) -> httpx.Response:
    return await api.post("/v1/stock/receipts", json=body, headers=bearer(key))


def timeline_actor(order: dict, kind: str) -> str:
    (event,) = [e for e in order["timeline"] if e["kind"] == kind]
    return event["actor"]


async def test_the_warehouse_books_a_receipt_and_reads_the_new_level(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given 100 mugs in Berlin
    # When picker-1 books a delivery of 5 against PO-9
    response = await receive(api, keys.warehouse, sku="MUG-LOGO", warehouse="BER", quantity=5,
                             reference="PO-9")
    levels = await api.get("/v1/stock", params={"sku": "MUG-LOGO"},
                           headers=bearer(keys.warehouse))

    # Then the receipt answers with the level after it, which the stock view shows too
    assert response.status_code == 201
    assert response.json() == {"sku": "MUG-LOGO", "warehouse": "BER", "quantity": 5,
                               "on_hand": 105, "salable": 105, "backorders_filled": []}
    assert levels.status_code == 200
    assert levels.json() == [{"sku": "MUG-LOGO", "warehouse": "BER", "on_hand": 105,
                              "reserved": 0, "safety_stock": 0, "campaign_held": 0,
                              "salable": 105, "incoming": 0, "reorder_point": 0}]

    # And the ledger names picker-1 as the one who booked it
    async with stack.db() as session:
        reasons = (await session.scalars(select(StockMovementRow.reason).where(
            StockMovementRow.kind == "receipt"))).all()
    assert reasons == ["receipt PO-9 by picker-1"]


async def test_a_receipt_for_an_unknown_sku_or_warehouse_is_a_404(
        api: httpx.AsyncClient, keys: Keys):
    no_sku = await receive(api, keys.warehouse, sku="NOPE", warehouse="BER", quantity=1)
    no_warehouse = await receive(api, keys.warehouse, sku="MUG-LOGO", warehouse="MUC", quantity=1)

    assert (no_sku.status_code, no_warehouse.status_code) == (404, 404)
    assert no_sku.headers["content-type"] == PROBLEM
    assert (no_sku.json()["title"], no_sku.json()["detail"]) == ("SKU not found",
                                                                 "unknown SKU 'NOPE'")
    assert no_warehouse.json()["detail"] == "unknown warehouse 'MUC'"


async def test_a_bad_receipt_is_a_422_naming_every_field_and_books_nothing(
        api: httpx.AsyncClient, keys: Keys):
    response = await receive(api, keys.warehouse, sku="", quantity=0, colour="blue")
    levels = await api.get("/v1/stock", params={"sku": "MUG-LOGO", "warehouse": "BER"},
                           headers=bearer(keys.warehouse))

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "sku", "warehouse", "quantity", "colour"}
    assert levels.json()[0]["on_hand"] == 100


async def test_a_receipt_fills_a_waiting_backorder_and_wakes_its_order(
        api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given an order for 3 caps that found 1 in Hamburg and waits for the other 2
    placed = await manual_orders.place(
        checkout(lines=[{"sku": "CAP-NAVY", "quantity": 3}], allow_backorder=True))
    await reach(placed.handle, "BACKORDERED")

    # When the warehouse books a delivery of 2 caps
    response = await receive(api, keys.warehouse, sku="CAP-NAVY", warehouse="HAM", quantity=2)

    # Then they go to the order, which moves on to be picked
    assert response.status_code == 201, response.text
    assert response.json()["backorders_filled"] == [
        {"order_id": placed.order.order_id, "quantity": 2, "order_complete": True}]
    assert response.json()["salable"] == 0
    await reach(placed.handle, "PICKING")


async def test_the_warehouse_confirms_pick_and_pack_and_the_order_ships(
        api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given a paid order waiting in PICKING for the warehouse
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When picker-1 confirms the pick (no body), then the pack of the Berlin parcel
    picked = await api.post(f"/v1/orders/{order_id}/picks", headers=bearer(keys.warehouse))
    packed = await api.post(f"/v1/orders/{order_id}/packs", json={"warehouse": "BER"},
                            headers=bearer(keys.warehouse))

    # Then both are accepted, the order ships, and its timeline names picker-1
    assert (picked.status_code, packed.status_code) == (202, 202)
    assert picked.json() == {"order_id": order_id, "step": "pick", "warehouse": "",
                             "actor": "picker-1"}
    assert packed.json()["warehouse"] == "BER"
    await reach(placed.handle, "SHIPPED")
    order = (await api.get(f"/v1/orders/{order_id}", headers=bearer(keys.warehouse))).json()
    assert timeline_actor(order, "warehouse.picked") == "picker-1"
    assert timeline_actor(order, "warehouse.packed") == "picker-1"


async def test_confirming_an_unknown_or_finished_order_is_refused(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given an order that ran to completion
    placed = await stack.orders.place(checkout())
    assert (await placed.handle.result()).status == "COMPLETED"

    # When the warehouse confirms a pick for an unknown order, and a pack for that one
    unknown = await api.post("/v1/orders/NOPE-1/picks", headers=bearer(keys.warehouse))
    finished = await api.post(f"/v1/orders/{placed.order.order_id}/packs", json={},
                              headers=bearer(keys.warehouse))

    # Then the first is a 404, the second a 409 that says why
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no order 'NOPE-1'"
    assert finished.status_code == 409
    assert finished.headers["content-type"] == PROBLEM
    assert finished.json()["detail"] == (
        f"order {placed.order.order_id!r} is already COMPLETED: it can no longer change")


async def test_only_the_warehouse_books_stock_and_confirms_while_support_reads_stock(
        api: httpx.AsyncClient, keys: Keys):
    receipt = {"sku": "MUG-LOGO", "warehouse": "BER", "quantity": 1}

    by_support = await receive(api, keys.support, **receipt)
    by_storefront = await receive(api, keys.storefront, **receipt)
    support_reads = await api.get("/v1/stock", headers=bearer(keys.support))
    storefront_reads = await api.get("/v1/stock", headers=bearer(keys.storefront))
    support_picks = await api.post("/v1/orders/ANY-1/picks", headers=bearer(keys.support))

    assert [r.status_code for r in (by_support, by_storefront, support_reads, storefront_reads,
                                    support_picks)] == [403, 403, 200, 403, 403]
    assert by_support.json()["detail"] == "the support role may not receive stock"
    assert support_picks.json()["detail"] == "the support role may not confirm pick"
    assert len(support_reads.json()) == len(CATALOGUE["stock"])
