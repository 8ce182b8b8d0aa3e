"""Orders flagged for attention are found again: counted in /metrics and listed on the ops
dashboard, including an order whose own row could never be written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from activities.db.attention_repository import Attention, AttentionRepository
from activities.db.engine import SessionFactory
from activities.db.tables import OrderRow
from tests.api.test_console_ops import add, order_row, signed_in  # noqa: F401
from tests.api.test_metrics import scrape
from tests.workflows.conftest import Stack

NOW = datetime.now(UTC)


async def flag(db: SessionFactory, order_id: str, seq: int, step: str, detail: str) -> bool:
    async with db.begin() as session:
        return await AttentionRepository(session).flag(Attention(
            order_id, f"order-{order_id}", seq, NOW + timedelta(seconds=seq), "PICKING", step,
            "PermanentDataError", detail))


async def test_flagged_orders_are_counted_once_each_in_metrics(api: httpx.AsyncClient,
                                                                 stack: Stack):
    # Given one order flagged twice, one flagged once, one never recorded, and one fine
    await add(stack.db, order_row("A", "PICKING", NOW), order_row("B", "CANCELLED", NOW),
              order_row("C", "SHIPPED", NOW))
    assert await flag(stack.db, "A", 7, "record_event", "NUL in a reason")
    assert await flag(stack.db, "A", 9, "record_event", "NUL in a reason")
    assert await flag(stack.db, "B", 4, "release_stock", "constraint")
    assert not await flag(stack.db, "Z", 1, "record_order", "no row")
    # And a flag written twice by a retried activity
    assert await flag(stack.db, "B", 4, "release_stock", "constraint")

    # When Prometheus scrapes, then each flagged order counts once, latest failures first
    found = await scrape(api)
    assert found[("fulfil_orders_flagged_for_attention_total", ())] == 3
    assert found[("fulfil_orders_needing_attention", ())] == 3
    async with stack.db() as session:
        flagged = await AttentionRepository(session).flagged_orders()
    assert [(f.order_id, f.status, f.step) for f in flagged] == [
        ("A", "PICKING", "record_event"), ("A", "PICKING", "record_event"),
        ("B", "CANCELLED", "release_stock"), ("Z", None, "record_order")]


async def test_a_resolved_failure_leaves_the_list_and_the_gauge_but_stays_counted(
        api: httpx.AsyncClient, stack: Stack):
    # Given an order flagged by two steps
    await add(stack.db, order_row("A", "DELIVERED", NOW))
    await flag(stack.db, "A", 7, "open_return", "returns are refused")
    await flag(stack.db, "A", 9, "record_event", "NUL in a comment")

    # When support's retry of open_return went through
    async with stack.db.begin() as session:
        await AttentionRepository(session).resolve("A", "open_return", "agent-7", NOW)

    # Then only the other failure is listed, and the order still needs attention
    async with stack.db() as session:
        flagged = await AttentionRepository(session).flagged_orders()
    assert [(f.order_id, f.step) for f in flagged] == [("A", "record_event")]
    assert await order_flag(stack, "A") is True
    # And once that one is resolved too, the order's flag drops
    async with stack.db.begin() as session:
        await AttentionRepository(session).resolve("A", "record_event", "agent-7", NOW)
    assert await order_flag(stack, "A") is False
    found = await scrape(api)
    assert found[("fulfil_orders_flagged_for_attention_total", ())] == 1
    assert found[("fulfil_orders_needing_attention", ())] == 0


async def order_flag(stack: Stack, order_id: str) -> bool:
    async with stack.db() as session:
        return bool(await session.scalar(
            select(OrderRow.attention).where(OrderRow.order_id == order_id)))


async def test_the_dashboard_lists_orders_needing_attention(
        signed_in: httpx.AsyncClient, stack: Stack):  # noqa: F811
    await add(stack.db, order_row("A", "PICKING", NOW))
    await flag(stack.db, "A", 7, "record_event", "PostgreSQL text fields cannot contain NUL")
    await flag(stack.db, "Z", 1, "record_order", "integer out of range")

    page = (await signed_in.get("/console/ops")).text

    assert "Orders needing attention" in page
    assert '<a href="/console/orders/A">A</a></th>' in page
    assert "PostgreSQL text fields cannot contain NUL" in page
    assert "<td>never recorded</td><td>record_order</td>" in page


async def test_the_dashboard_says_when_no_order_needs_attention(
        signed_in: httpx.AsyncClient):  # noqa: F811
    page = (await signed_in.get("/console/ops")).text
    assert "No order needs attention." in page
