"""The simulated notification provider against real PostgreSQL: a key sends one message."""

from __future__ import annotations

import asyncio
import random

import pytest

from activities.db.engine import SessionFactory
from activities.notifications.notifier import NotificationRejected, NotificationUnavailable
from activities.notifications.simulator import SimulatedNotifier


@pytest.fixture
def notifier(db: SessionFactory) -> SimulatedNotifier:
    return SimulatedNotifier(db, latency_ms=0)


async def send(notifier: SimulatedNotifier, key: str = "outbox-1", *,
               recipient: str = "ada@example.com", subject: str = "Order ORD-1 confirmed",
               body: str = "Hello Ada,") -> str:
    return await notifier.send(idempotency_key=key, recipient=recipient, subject=subject,
                               body=body, template="order_confirmed")


async def test_a_sent_message_is_in_the_providers_book(notifier: SimulatedNotifier) -> None:
    message_id = await send(notifier)

    [sent] = await notifier.sent(recipient="ada@example.com")
    assert message_id.startswith("msg_")
    assert (sent.message_id, sent.idempotency_key, sent.template, sent.subject, sent.body) == (
        message_id, "outbox-1", "order_confirmed", "Order ORD-1 confirmed", "Hello Ada,")
    assert sent.sent_at.tzinfo is not None


async def test_a_repeated_key_returns_the_first_message_and_sends_nothing_new(
    notifier: SimulatedNotifier,
) -> None:
    first = await send(notifier)

    again = await send(notifier)

    assert again == first
    assert len(await notifier.sent()) == 1


async def test_concurrent_sends_with_one_key_send_one_message(
    notifier: SimulatedNotifier,
) -> None:
    ids = await asyncio.gather(*(send(notifier) for _ in range(8)))

    assert len(set(ids)) == 1
    assert len(await notifier.sent()) == 1


async def test_a_key_reused_for_another_message_is_refused(notifier: SimulatedNotifier) -> None:
    await send(notifier)

    with pytest.raises(NotificationRejected, match="first used for another message"):
        await send(notifier, subject="Order ORD-2 confirmed")


async def test_a_bouncing_address_is_refused_for_good_and_nothing_is_sent(
    notifier: SimulatedNotifier,
) -> None:
    with pytest.raises(NotificationRejected, match="bounced"):
        await send(notifier, recipient="nobody@bounce.example")

    assert await notifier.sent() == []


async def test_a_network_failure_is_transient_and_sends_nothing(db: SessionFactory) -> None:
    flaky = SimulatedNotifier(db, latency_ms=0, transient_failure_rate=1.0)

    with pytest.raises(NotificationUnavailable):
        await send(flaky)

    assert await SimulatedNotifier(db, latency_ms=0).sent() == []


async def test_the_failure_rate_fails_about_that_share_of_calls(db: SessionFactory) -> None:
    flaky = SimulatedNotifier(db, latency_ms=0, transient_failure_rate=0.3,
                              rng=random.Random(7))
    failures = 0
    for n in range(200):
        try:
            await send(flaky, f"outbox-{n}")
        except NotificationUnavailable:
            failures += 1

    assert 40 <= failures <= 80
    assert len(await flaky.sent()) == 200 - failures


async def test_messages_of_an_order_are_found_by_its_id_and_no_other(
    notifier: SimulatedNotifier,
) -> None:
    await send(notifier, "outbox-1", subject="Order ORD-1 confirmed")
    await send(notifier, "outbox-2", subject="Order ORD-10 confirmed")
    await send(notifier, "outbox-3", subject="Order ORD-1 delivered", recipient="bob@example.com")

    assert [m.idempotency_key for m in await notifier.sent(order_id="ORD-1")] == [
        "outbox-1", "outbox-3"]
    assert [m.idempotency_key for m in await notifier.sent(order_id="ORD-10")] == ["outbox-2"]
    assert [m.idempotency_key for m in await notifier.sent(
        order_id="ORD-1", recipient="bob@example.com")] == ["outbox-3"]
