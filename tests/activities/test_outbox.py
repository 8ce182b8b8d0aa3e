"""The transactional outbox against real PostgreSQL: a customer-facing timeline event queues
one message in the same transaction, and the relay sends each message exactly once, through
transient failures, bounces, crashes and competing relays."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.outbox_repository import OutboxRepository
from activities.db.outbox_tables import OutboxRow
from activities.notifications.notifier import NotificationUnavailable
from activities.notifications.outbox_relay import OutboxRelay, doubling_backoff
from activities.notifications.simulator import SimulatedNotifier
from activities.records import RecordActivities, RecordEventInput, RecordOrderInput
from api.checkout import parse_checkout
from domain.catalogue import price_order
from domain.order import PricedOrder
from tests.support import checkout, seed
from workers.cli import app as fulfil

PLACED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ADA = {"id": "cus_42", "email": "ada@example.com", "name": "Ada Lovelace"}


class WorkerCrashed(BaseException):
    """The process died: nothing after this point runs, no transaction commits."""


class CrashAfterAccept:
    """The provider accepts the message, then the worker dies before hearing back."""

    def __init__(self, notifier: SimulatedNotifier) -> None:
        self._notifier = notifier

    async def send(self, **message: str) -> str:
        await self._notifier.send(**message)
        raise WorkerCrashed


class ReplyLost:
    """The provider accepts the message but its answer never arrives."""

    def __init__(self, notifier: SimulatedNotifier) -> None:
        self._notifier = notifier

    async def send(self, **message: str) -> str:
        await self._notifier.send(**message)
        raise NotificationUnavailable("read timeout")


class CountingNotifier:
    """Passes every call on to the provider and counts the calls per idempotency key."""

    def __init__(self, notifier: SimulatedNotifier, calls: Counter[str]) -> None:
        self._notifier, self.calls = notifier, calls

    async def send(self, **message: str) -> str:
        self.calls[message["idempotency_key"]] += 1
        return await self._notifier.send(**message)


@pytest.fixture
async def records(db: SessionFactory) -> RecordActivities:
    await seed(db)
    return RecordActivities(db)


@pytest.fixture
def provider(db: SessionFactory) -> SimulatedNotifier:
    return SimulatedNotifier(db, latency_ms=0)


async def place(db: SessionFactory, env: ActivityEnvironment, records: RecordActivities,
                customer: dict[str, str] = ADA) -> PricedOrder:
    async with db() as session:
        catalogue = await CatalogueRepository(session).load()
    order = price_order(parse_checkout(checkout(customer=customer)), catalogue)
    await env.run(records.record_order, RecordOrderInput(order, f"order-{order.order_id}", PLACED_AT))
    return order


async def record(env: ActivityEnvironment, records: RecordActivities, order_id: str, seq: int,
                 kind: str, detail: str = "", status: str = "PAYMENT_AUTHORIZED") -> bool:
    return await env.run(records.record_event, RecordEventInput(
        order_id, seq, PLACED_AT + timedelta(minutes=seq), status, kind, detail, "system"))


async def outbox_rows(db: SessionFactory) -> list[OutboxRow]:
    async with db() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_a_customer_facing_event_queues_exactly_one_message_even_when_replayed(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)

    assert await record(activity_env, records, order.order_id, 2, "payment.authorized",
                        "EUR 44.88") is True
    assert await record(activity_env, records, order.order_id, 2, "payment.authorized",
                        "EUR 44.88") is False

    [row] = await outbox_rows(db)
    assert (row.order_id, row.event_seq, row.template, row.recipient, row.status,
            row.attempts, row.sent_at) == (
        order.order_id, 2, "order_confirmed", "ada@example.com", "pending", 0, None)
    assert row.subject == f"Order {order.order_id} confirmed"
    assert row.body.startswith("Hello Ada Lovelace,") and "EUR 44.88" in row.body


async def test_an_internal_event_queues_no_message(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)

    assert await record(activity_env, records, order.order_id, 1, "order.placed") is True
    assert await record(activity_env, records, order.order_id, 2, "payment.captured",
                        "EUR 44.88") is True

    assert await outbox_rows(db) == []


async def test_each_customer_facing_event_of_an_order_queues_its_own_message(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)
    events = [("payment.authorized", "EUR 44.88"), ("payment.captured", "EUR 44.88"),
              ("shipment.handed_over", "sim-standard SIMS0123456789"),
              ("shipment.delivered", ""), ("payment.refunded", "EUR 5.00: goodwill")]

    for seq, (kind, detail) in enumerate(events, start=2):
        await record(activity_env, records, order.order_id, seq, kind, detail)

    assert [(r.event_seq, r.template) for r in await outbox_rows(db)] == [
        (2, "order_confirmed"), (4, "shipped"), (5, "delivered"), (6, "refund_issued")]


async def test_the_message_commits_with_its_event_or_not_at_all(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)

    with pytest.raises(RuntimeError):
        async with db.begin() as session:
            await OrderRepository(session).record_event(
                order.order_id, 2, PLACED_AT, "CANCELLED", "order.cancelled", "too late", "support")
            raise RuntimeError("the worker died before the commit")

    async with db() as session:
        assert await OrderRepository(session).events(order.order_id) == []
    assert await outbox_rows(db) == []


async def test_an_event_of_an_order_never_recorded_queues_nothing(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    assert await record(activity_env, records, "ORD-NOWHERE", 1, "order.cancelled",
                        "fraud") is True

    assert await outbox_rows(db) == []


async def test_the_relay_sends_a_pending_message_and_marks_it_sent(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "shipment.handed_over",
                 "sim-standard SIMS0123456789")

    with capture_logs() as logs:
        assert await OutboxRelay(db, provider).run_once() == 1

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None and row.sent_at.tzinfo is not None
    [sent] = await provider.sent(order_id=order.order_id)
    assert (sent.idempotency_key, sent.recipient, sent.template, sent.subject, sent.body) == (
        f"outbox-{row.id}", "ada@example.com", "shipped", row.subject, row.body)
    assert "https://track.sim-standard.example/SIMS0123456789" in sent.body
    assert [(e["event"], e["order_id"]) for e in logs] == [("notification.sent", order.order_id)]
    assert await OutboxRelay(db, provider).run_once() == 0


async def test_a_transient_failure_is_retried_on_the_next_run(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "shipment.delivered")
    down = SimulatedNotifier(db, latency_ms=0, transient_failure_rate=1.0)

    with capture_logs() as logs:
        assert await OutboxRelay(db, down).run_once() == 0

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "NotificationUnavailable: simulated network failure"
    assert [(e["event"], e["order_id"]) for e in logs] == [("notification.retry", order.order_id)]

    # The next run leaves it alone while it backs off; once it is due, it goes out.
    assert await OutboxRelay(db, provider).run_once() == 0
    await make_due(db)
    assert await OutboxRelay(db, provider).run_once() == 1

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(await provider.sent(order_id=order.order_id)) == 1


def no_wait(attempts: int) -> timedelta:
    return timedelta(0)


async def make_due(db: SessionFactory) -> None:
    """Plays the clock forward: every message waiting out its backoff is due now."""
    async with db.begin() as session:
        await session.execute(update(OutboxRow).values(next_attempt_at=None))


def test_failed_attempts_back_off_doubling_up_to_an_hour() -> None:
    assert [doubling_backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [2, 4, 8, 1024]
    assert doubling_backoff(12) == doubling_backoff(40) == timedelta(hours=1)


async def test_a_failed_message_waits_out_its_backoff_before_the_next_attempt(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "shipment.delivered")
    before = datetime.now(UTC)
    await OutboxRelay(db, SimulatedNotifier(db, latency_ms=0, transient_failure_rate=1.0)
                      ).run_once()

    [row] = await outbox_rows(db)
    assert row.next_attempt_at is not None
    assert timedelta(seconds=2) <= row.next_attempt_at - before < timedelta(seconds=4)


async def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "shipment.delivered")
    relay = OutboxRelay(db, SimulatedNotifier(db, latency_ms=0, transient_failure_rate=1.0),
                        max_attempts=3, backoff=no_wait)

    with capture_logs() as logs:
        for _ in range(4):
            await relay.run_once()

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts) == ("failed", 3)
    assert [e["event"] for e in logs] == [
        "notification.retry", "notification.retry", "notification.failed"]


async def test_a_bouncing_address_is_marked_failed_at_once(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records,
                        {"id": "cus_9", "email": "gone@bounce.example", "name": "Gone"})
    await record(activity_env, records, order.order_id, 2, "order.cancelled", "fraud check")

    with capture_logs() as logs:
        assert await OutboxRelay(db, provider).run_once() == 0
        assert await OutboxRelay(db, provider).run_once() == 0

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 1, None)
    assert "bounced" in row.last_error
    assert [(e["event"], e["order_id"]) for e in logs] == [
        ("notification.failed", order.order_id)]
    assert await provider.sent() == []


async def test_a_crash_after_the_provider_accepted_sends_the_message_once(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "payment.authorized", "EUR 44.88")

    with pytest.raises(WorkerCrashed):
        await OutboxRelay(db, CrashAfterAccept(provider)).run_once()

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts) == ("pending", 0)  # the marking never committed
    [accepted] = await provider.sent(order_id=order.order_id)

    assert await OutboxRelay(db, provider).run_once() == 1

    [row] = await outbox_rows(db)
    assert row.status == "sent"
    assert await provider.sent(order_id=order.order_id) == [accepted]


async def test_a_lost_reply_is_retried_without_sending_twice(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records)
    await record(activity_env, records, order.order_id, 2, "payment.authorized", "EUR 44.88")

    assert await OutboxRelay(db, ReplyLost(provider), backoff=no_wait).run_once() == 0
    assert await OutboxRelay(db, provider).run_once() == 1

    [row] = await outbox_rows(db)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(await provider.sent(order_id=order.order_id)) == 1


async def test_two_relays_running_at_once_never_send_a_message_twice(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
) -> None:
    orders = [await place(db, activity_env, records) for _ in range(6)]
    for order in orders:
        for seq, kind in enumerate(("payment.authorized", "shipment.delivered",
                                    "survey.sent", "order.cancelled"), start=2):
            await record(activity_env, records, order.order_id, seq, kind, "EUR 1.00")
    calls: Counter[str] = Counter()
    relays = [OutboxRelay(db, CountingNotifier(SimulatedNotifier(db, latency_ms=5), calls))
              for _ in range(2)]

    sent = await asyncio.gather(*(relay.run_once(batch=100) for relay in relays))

    assert sum(sent) == 24
    assert all(n > 0 for n in sent)  # both relays did share the work
    assert len(calls) == 24 and set(calls.values()) == {1}
    rows = await outbox_rows(db)
    assert {row.status for row in rows} == {"sent"} and {row.attempts for row in rows} == {1}
    assert len(await SimulatedNotifier(db).sent()) == 24


async def test_a_running_relay_sends_what_workers_queue(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> None:
    order = await place(db, activity_env, records)

    async with OutboxRelay(db, provider).running(interval=0.05):
        await record(activity_env, records, order.order_id, 2, "shipment.delivered")
        for _ in range(100):
            if await provider.sent(order_id=order.order_id):
                break
            await asyncio.sleep(0.05)

    [sent] = await provider.sent(order_id=order.order_id)
    assert sent.template == "delivered"
    [row] = await outbox_rows(db)
    assert row.status == "sent"


@pytest.fixture
async def two_customers_told(
    db: SessionFactory, records: RecordActivities, activity_env: ActivityEnvironment,
    provider: SimulatedNotifier,
) -> tuple[str, str]:
    """Ada's order confirmed and shipped (both sent); Gone's cancellation bounced."""
    ada = await place(db, activity_env, records)
    await record(activity_env, records, ada.order_id, 2, "payment.authorized", "EUR 44.88")
    await record(activity_env, records, ada.order_id, 3, "shipment.handed_over",
                 "sim-express SIME0123456789")
    gone = await place(db, activity_env, records,
                       {"id": "cus_9", "email": "gone@bounce.example", "name": "Gone"})
    await record(activity_env, records, gone.order_id, 2, "order.cancelled", "fraud check")
    await OutboxRelay(db, provider).run_once()
    return ada.order_id, gone.order_id


def test_support_lists_what_a_customer_was_sent(
    database_url: str, two_customers_told: tuple[str, str],
) -> None:
    ada, gone = two_customers_told
    runner, env = CliRunner(), {"FULFIL_DATABASE_URL": database_url}

    for_ada = runner.invoke(fulfil, ["notifications", "list", "--order", ada, "--json"], env=env)
    failed = runner.invoke(fulfil, ["notifications", "list", "--status", "failed", "--json"],
                           env=env)
    table = runner.invoke(fulfil, ["notifications", "list"], env=env)
    bad = runner.invoke(fulfil, ["notifications", "list", "--status", "lost"], env=env)

    assert for_ada.exit_code == 0, for_ada.output
    assert [(m["template"], m["status"], m["recipient"]) for m in json.loads(for_ada.stdout)] == [
        ("shipped", "sent", "ada@example.com"), ("order_confirmed", "sent", "ada@example.com")]
    [bounced] = json.loads(failed.stdout)
    assert (bounced["order_id"], bounced["template"], bounced["attempts"]) == (
        gone, "order_cancelled", 1)
    assert "bounced" in bounced["last_error"]
    assert table.exit_code == 0 and ada in table.stdout and "order_cancelled" in table.stdout
    assert bad.exit_code == 2 and "--status must be one of pending, sent, failed" in bad.stderr


async def test_the_demo_counts_its_orders_messages_by_status(
    db: SessionFactory, two_customers_told: tuple[str, str],
) -> None:
    async with db() as session:
        counts = await OutboxRepository(session).count_by_status(list(two_customers_told))
        none = await OutboxRepository(session).count_by_status(["ORD-NOWHERE"])

    assert counts == {"pending": 0, "sent": 2, "failed": 1}
    assert none == {"pending": 0, "sent": 0, "failed": 0}
