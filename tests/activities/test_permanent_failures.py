"""Telling permanent activity failures from transient ones, on errors real PostgreSQL raises;
and the attention flag written escaped, whatever text broke the step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text
from temporalio.testing import ActivityEnvironment

from activities.attention import AttentionActivities, AttentionInput
from activities.db.attention_tables import OrderAttentionRow
from activities.db.engine import SessionFactory, build_engine
from activities.db.order_repository import OrderRepository
from activities.db.tables import OrderRow
from activities.errors import CONSTRAINT_VIOLATION, PERMANENT_DATA_ERROR
from activities.records import RecordActivities, RecordEventInput, RecordOrderInput
from domain.money import Money
from domain.order import PricedOrder
from tests.activities.test_record_activities import order  # noqa: F401
from workers.permanent_failures import permanent_failure

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


async def raised(coroutine) -> BaseException:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        await coroutine
    return caught.value


async def test_a_nul_byte_in_a_timeline_event_is_a_permanent_data_error(
        db: SessionFactory, order: PricedOrder, activity_env: ActivityEnvironment):  # noqa: F811
    records = RecordActivities(db)
    await activity_env.run(records.record_order, RecordOrderInput(order, "wf-1", AT))
    error = await raised(activity_env.run(records.record_event, RecordEventInput(
        order.order_id, 1, AT, "PLACED", "order.cancelled", "fraud\x00check", "risk")))

    permanent = permanent_failure(error)

    assert permanent is not None and permanent.non_retryable
    assert permanent.type == PERMANENT_DATA_ERROR
    assert "NUL" in permanent.message


async def test_an_amount_beyond_the_column_is_a_permanent_data_error(
        db: SessionFactory, order: PricedOrder, activity_env: ActivityEnvironment):  # noqa: F811
    huge = replace(order, totals=replace(order.totals, grand_total=Money(2**70, "EUR")))
    error = await raised(activity_env.run(RecordActivities(db).record_order,
                                          RecordOrderInput(huge, "wf-1", AT)))

    permanent = permanent_failure(error)

    assert permanent is not None and permanent.type == PERMANENT_DATA_ERROR


async def test_a_lost_connection_is_retried():
    engine = build_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        error = await raised(_select_one(engine))
    finally:
        await engine.dispose()
    assert isinstance(error, sa_exc.OperationalError)
    assert permanent_failure(error) is None


async def _select_one(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        await connection.execute(text("select 1"))


@pytest.mark.parametrize("cause", [psycopg.errors.SerializationFailure("could not serialize"),
                                   psycopg.errors.DeadlockDetected("deadlock detected"),
                                   psycopg.errors.QueryCanceled("statement timeout")])
def test_serialization_failures_deadlocks_and_timeouts_are_retried(cause):
    assert permanent_failure(sa_exc.OperationalError("UPDATE ...", {}, cause)) is None
    assert permanent_failure(TimeoutError()) is None


def test_a_duplicate_is_retried_a_few_times_as_a_race_then_is_permanent():
    error = sa_exc.IntegrityError("INSERT ...", {}, psycopg.errors.UniqueViolation("dup"))
    assert permanent_failure(error, attempt=1) is None
    permanent = permanent_failure(error, attempt=3)
    assert permanent is not None and permanent.type == CONSTRAINT_VIOLATION


def test_other_constraint_violations_are_permanent_at_once():
    error = sa_exc.IntegrityError("INSERT ...", {}, psycopg.errors.NotNullViolation("null"))
    permanent = permanent_failure(error, attempt=1)
    assert permanent is not None and permanent.type == CONSTRAINT_VIOLATION


def attention(order_id: str, seq: int, unwritten: RecordEventInput | None) -> AttentionInput:
    return AttentionInput(order_id, f"order-{order_id}", seq, AT + timedelta(seconds=seq),
                          "CANCELLED", "record_event", PERMANENT_DATA_ERROR,
                          "record_event failed: bad \x00 text", unwritten)


async def test_the_flag_writes_the_failed_event_escaped_and_flags_the_order(
        db: SessionFactory, order: PricedOrder, activity_env: ActivityEnvironment):  # noqa: F811
    records = RecordActivities(db)
    await activity_env.run(records.record_order, RecordOrderInput(order, "wf-1", AT))
    unwritten = RecordEventInput(order.order_id, 1, AT, "CANCELLED", "order.cancelled",
                                 "fraud\x00check", "risk")
    flags = AttentionActivities(db)

    assert await activity_env.run(flags.flag_attention, attention(order.order_id, 2, unwritten))
    # A retried flag writes nothing twice
    assert await activity_env.run(flags.flag_attention, attention(order.order_id, 2, unwritten))

    async with db() as session:
        events = await OrderRepository(session).events(order.order_id)
        row = await session.get(OrderRow, order.order_id)
        notes = (await session.scalars(select(OrderAttentionRow))).all()
    assert [(e.seq, e.kind, e.detail) for e in events] == [
        (1, "order.cancelled", "fraud\\x00check"),
        (2, "attention.needed", "record_event failed: bad \\x00 text")]
    assert row is not None and (row.attention, row.status) == (True, "CANCELLED")
    assert [(n.seq, n.step) for n in notes] == [(2, "record_event")]


async def test_an_order_without_a_row_is_still_on_record_as_needing_attention(
        db: SessionFactory, activity_env: ActivityEnvironment):
    flags = AttentionActivities(db)

    assert await activity_env.run(flags.flag_attention, attention("NO-ROW", 1, None)) is False

    async with db() as session:
        notes = (await session.scalars(select(OrderAttentionRow))).all()
    assert [(n.order_id, n.detail) for n in notes] == [
        ("NO-ROW", "record_event failed: bad \\x00 text")]
