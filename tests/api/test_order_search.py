"""GET /v1/orders: support searches the orders' record by id, customer, email, status and
placing date, a page at a time; the storefront lists one customer's orders only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.order_repository import OrderRepository
from api.checkout import parse_checkout
from domain.catalogue import price_order
from tests.api.conftest import Keys, bearer
from tests.support import checkout
from tests.workflows.conftest import Stack
from workflows.order_contract import order_workflow_id

MARCH_1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def record(stack: Stack, placed_at: datetime, *, customer: str = "cus_42",
                 email: str = "ada@example.com") -> str:
    """An order as its workflow records it when placed, at a chosen moment."""
    body = checkout(customer={"id": customer, "email": email, "name": "Ada Lovelace"})
    async with stack.db() as session:
        order = price_order(parse_checkout(body), await CatalogueRepository(session).load())
    async with stack.db.begin() as session:
        await OrderRepository(session).add_if_absent(order, order_workflow_id(order.order_id),
                                                      placed_at)
    return order.order_id


async def search(api: httpx.AsyncClient, key: str, **params: str | int) -> httpx.Response:
    return await api.get("/v1/orders", params=params, headers=bearer(key))


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["order_id"] for row in response.json()["orders"]]


async def test_support_finds_a_customers_orders_by_email_in_any_case(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given two orders by ada@example.com and one by someone else
    first = await record(stack, MARCH_1)
    second = await record(stack, MARCH_1 + timedelta(hours=1))
    await record(stack, MARCH_1, customer="cus_7", email="bob@example.com")

    # When support searches for the address as the customer typed it on the phone
    response = await search(api, keys.support, email="ADA@Example.com")

    # Then both of hers come back, newest first, with her address
    assert ids(response) == [second, first]
    assert {row["customer_email"] for row in response.json()["orders"]} == {"ada@example.com"}


async def test_support_finds_an_order_by_its_id_and_filters_by_status(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    wanted = await record(stack, MARCH_1)
    other = await record(stack, MARCH_1)

    assert ids(await search(api, keys.support, order_id=wanted)) == [wanted]
    assert set(ids(await search(api, keys.support, status="PLACED"))) == {wanted, other}
    assert ids(await search(api, keys.support, status="CANCELLED")) == []


async def test_a_date_range_includes_its_start_and_excludes_its_end(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given orders placed on the 1st, 2nd and 3rd of March
    days = [await record(stack, MARCH_1 + timedelta(days=n)) for n in range(3)]

    # When support asks for those placed from the 2nd up to the 3rd, in another time zone
    response = await search(api, keys.support, placed_from="2026-03-02T10:00:00+01:00",
                            placed_to="2026-03-03T09:00:00Z")

    # Then only the order of the 2nd is in it
    assert ids(response) == [days[1]]


async def test_pages_walk_every_order_newest_first_without_repeats(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given five orders, two of them placed at the same instant
    for n in range(4):
        await record(stack, MARCH_1 + timedelta(minutes=n))
    await record(stack, MARCH_1 + timedelta(minutes=3))
    async with stack.db() as session:
        everything = await OrderRepository(session).search(limit=10)
    expected = [row.order_id for row in everything]

    # When support reads them two at a time, following the cursor
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await search(api, keys.support, **params)
        pages.append(ids(response))
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    # Then the pages hold every order once, in the record's order: newest first, ties by id
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [order_id for page in pages for order_id in page] == expected
    assert expected[0] > expected[1]  # the two of minute 3, the greater id first


async def test_the_storefront_lists_one_customers_orders_but_searches_nothing_else(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given an order of cus_42 and one of cus_7
    ours = await record(stack, MARCH_1)
    await record(stack, MARCH_1, customer="cus_7", email="bob@example.com")

    # When the storefront lists cus_42's orders, then searches by email alone
    listed = await search(api, keys.storefront, customer_id="cus_42")
    by_email = await search(api, keys.storefront, email="bob@example.com")
    by_warehouse = await search(api, keys.warehouse, customer_id="cus_42")

    # Then it sees cus_42's order, and may not search across customers
    assert ids(listed) == [ours]
    assert by_email.status_code == 403
    assert by_email.json()["detail"] == "the storefront role may list orders only by customer_id"
    assert by_warehouse.status_code == 403
    assert by_warehouse.json()["detail"] == "the warehouse role may not list orders"


async def test_bad_search_parameters_are_a_422_naming_each_of_them(
        api: httpx.AsyncClient, keys: Keys):
    # When support sends a page too large, a date without a zone and an unknown status
    response = await search(api, keys.support, limit=101, placed_from="2026-03-01T09:00:00",
                            status="LOST")
    tampered = await search(api, keys.support, cursor="not-a-cursor")
    backwards = await search(api, keys.support, placed_from="2026-03-02T00:00:00Z",
                             placed_to="2026-03-01T00:00:00Z")

    # Then each answer names every offending parameter
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in response.json()["errors"]} == {
        "query.limit", "query.placed_from", "query.status"}
    assert (tampered.status_code, tampered.json()["errors"]) == (
        422, [{"field": "query.cursor", "message": "not a cursor this API issued"}])
    assert (backwards.status_code, backwards.json()["errors"]) == (
        422, [{"field": "query.placed_to", "message": "must be after placed_from"}])
