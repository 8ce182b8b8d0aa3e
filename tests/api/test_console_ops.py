"""The operations dashboard: what it counts from the tables, and the page that shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activities.db.dashboard_repository import DashboardRepository, HourCount, hour_start
from activities.db.engine import SessionFactory
from activities.db.tables import BackorderRow, OrderRow
from api.http.app import create_app
from api.http.services import ApiServices
from tests.api.conftest import Keys
from tests.workflows.conftest import Stack

NOW = datetime(2025, 3, 14, 15, 42, tzinfo=UTC)
ORIGIN = "http://fulfil.test"


def order_row(order_id: str, status: str, placed_at: datetime) -> OrderRow:
    return OrderRow(order_id=order_id, workflow_id=f"order-{order_id}", customer_id="cus_1",
                    customer_email="a@example.com", customer_name="A", currency="EUR",
                    status=status, subtotal=1000, shipping_cost=490, grand_total=1490,
                    shipping_method="standard", carrier="sim-standard", address={},
                    payment_method="card", placed_at=placed_at, updated_at=placed_at)


def backorder(order_id: str, sku: str, quantity: int, filled: int, status: str,
              created_at: datetime) -> BackorderRow:
    return BackorderRow(order_id=order_id, workflow_id=f"order-{order_id}",
                        reservation_key=f"r-{order_id}", sku=sku, destination_country="DE",
                        quantity=quantity, filled=filled, status=status, created_at=created_at,
                        deadline_at=created_at + timedelta(days=14))


async def add(db: SessionFactory, *rows: object) -> None:
    async with db.begin() as session:
        session.add_all(rows)


async def test_orders_are_counted_by_status_largest_first(db: SessionFactory):
    await add(db, order_row("A", "PICKING", NOW), order_row("B", "PICKING", NOW),
              order_row("C", "CANCELLED", NOW), order_row("D", "SHIPPED", NOW),
              order_row("E", "SHIPPED", NOW), order_row("F", "SHIPPED", NOW))

    async with db() as session:
        counted = await DashboardRepository(session).orders_by_status()

    assert list(counted.items()) == [("SHIPPED", 3), ("PICKING", 2), ("CANCELLED", 1)]


async def test_orders_per_hour_cover_the_last_24_hours_with_zeros_for_quiet_hours(
        db: SessionFactory):
    this_hour = hour_start(NOW)
    await add(db, order_row("now-1", "PLACED", NOW - timedelta(minutes=5)),
              order_row("now-2", "PLACED", this_hour),
              order_row("3h-ago", "PLACED", this_hour - timedelta(hours=3, minutes=-59)),
              order_row("23h-ago", "PLACED", this_hour - timedelta(hours=23)),
              order_row("too-old", "PLACED", this_hour - timedelta(hours=23, seconds=1)),
              order_row("future", "PLACED", this_hour + timedelta(hours=1)))

    async with db() as session:
        hours = await DashboardRepository(session).orders_per_hour(NOW)

    assert len(hours) == 24
    assert hours[0] == HourCount(this_hour - timedelta(hours=23), 1)
    assert hours[-1] == HourCount(this_hour, 2)
    assert hours[-4] == HourCount(this_hour - timedelta(hours=3), 1)
    assert sum(h.orders for h in hours) == 4
    assert all(h.hour.tzinfo is not None for h in hours)


async def test_backorders_waiting_sum_the_units_still_missing_per_sku(db: SessionFactory):
    await add(db, backorder("A", "MUG", 5, 2, "waiting", NOW - timedelta(days=2)),
              backorder("B", "MUG", 1, 0, "waiting", NOW - timedelta(days=1)),
              backorder("C", "CAP", 1, 0, "waiting", NOW),
              backorder("D", "TEE", 4, 4, "filled", NOW),
              backorder("E", "TEE", 4, 0, "cancelled", NOW))

    async with db() as session:
        waiting = await DashboardRepository(session).backorders_waiting()

    assert [(w.sku, w.orders, w.units) for w in waiting] == [("MUG", 2, 4), ("CAP", 1, 1)]
    assert waiting[0].oldest_since == NOW - timedelta(days=2)
    assert waiting[0].next_deadline == NOW + timedelta(days=12)


@pytest.fixture
async def signed_in(stack: Stack, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(ApiServices.of(stack.orders)))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN,
                                 headers={"Origin": ORIGIN}) as client:
        response = await client.post("/console/sign-in", data={"key": keys.support})
        assert response.status_code == 303
        yield client


async def test_the_dashboard_shows_orders_stock_and_charts(signed_in: httpx.AsyncClient,
                                                           stack: Stack):
    now = datetime.now(UTC)
    await add(stack.db, order_row("A", "PICKING", now), order_row("B", "PICKING", now),
              order_row("C", "CANCELLED", now - timedelta(hours=2)),
              backorder("C", "CAP-NAVY", 3, 0, "waiting", now))

    response = await signed_in.get("/console/ops", params={"days": 7})

    assert response.status_code == 200
    page = response.text
    assert page.count('role="img"') == 5  # status, per hour, shipping, reasons, satisfaction
    assert '<title id="by-status-title">Orders by status now</title>' in page
    assert "<title>Picking: 2</title>" in page
    assert '<th scope="row">Picking</th><td class="num">2</td>' in page
    assert "3 orders placed in the last 24 hours." in page
    assert '<th scope="row">CAP-NAVY</th><td class="num">1</td><td class="num">3</td>' in page
    assert "No open alerts." in page
    assert '<option value="7" selected>7 days</option>' in page


async def test_the_dashboard_needs_a_signed_in_agent(stack: Stack):
    transport = httpx.ASGITransport(create_app(ApiServices.of(stack.orders)))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        response = await client.get("/console/ops")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fops")
