"""Sends the outbox's pending messages through the notifier, each exactly once.

Each message is claimed, sent and marked in its own transaction under a row lock (SKIP LOCKED
lets several relays share the queue). A message that fails is tried again later and later
(doubling from 2 s up to an hour), so a provider outage of hours delays messages but loses none.
A relay that dies after the provider accepted a message but before its row was marked sent
leaves the row pending; the next attempt sends it again with the same idempotency key, and the
provider answers with the first message instead of sending a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

import structlog

from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.db.outbox_repository import OutboxRepository
from activities.db.outbox_tables import OutboxRow
from activities.notifications.notifier import NotificationRejected, Notifier

log = structlog.get_logger(__name__)

# With the backoff below, 25 attempts keep trying for about 14 hours.
MAX_ATTEMPTS = 25
BATCH = 50
INTERVAL_S = 1.0
MAX_BACKOFF = timedelta(hours=1)


def doubling_backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 2 s, 4 s, 8 s ... 1 h."""
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


class OutboxRelay:
    """Moves messages from the outbox table to the notification provider."""

    def __init__(self, session_factory: SessionFactory, notifier: Notifier, *,
                 max_attempts: int = MAX_ATTEMPTS,
                 backoff: Callable[[int], timedelta] = doubling_backoff) -> None:
        self._sessions = session_factory
        self._notifier = notifier
        self._max_attempts = max_attempts
        self._backoff = backoff

    async def run_once(self, batch: int = BATCH) -> int:
        """Tries each pending message once, oldest first, up to `batch`; returns how many went out."""
        sent, after = 0, 0
        for _ in range(batch):
            async with self._sessions.begin() as session:
                outbox = OutboxRepository(session)
                row = await outbox.claim_next_pending(after, utcnow())
                if row is None:
                    break
                after = row.id
                sent += await self._deliver(outbox, row)
        return sent

    async def run_forever(self, interval: float = INTERVAL_S, batch: int = BATCH) -> None:
        """Relays until cancelled; a full batch goes round again at once, anything else waits."""
        while True:
            try:
                sent = await self.run_once(batch)
            except Exception:  # noqa: BLE001 - the database may be away; the rows wait for us
                log.warning("outbox.relay_failed", exc_info=True)
                sent = 0
            if sent < batch:
                await asyncio.sleep(interval)

    @asynccontextmanager
    async def running(self, interval: float = INTERVAL_S) -> AsyncIterator[None]:
        """Relays in the background for the duration of the block."""
        task = asyncio.create_task(self.run_forever(interval), name="outbox-relay")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _deliver(self, outbox: OutboxRepository, row: OutboxRow) -> int:
        try:
            message_id = await self._notifier.send(
                idempotency_key=f"outbox-{row.id}", recipient=row.recipient,
                subject=row.subject, body=row.body, template=row.template)
        except NotificationRejected as error:
            outbox.record_failure(row, str(error), give_up=True)
            log.warning("notification.failed", order_id=row.order_id, outbox_id=row.id,
                        template=row.template, attempts=row.attempts, error=str(error))
            return 0
        except Exception as error:  # noqa: BLE001 - any other failure is worth another try
            self._retry_or_give_up(outbox, row, f"{type(error).__name__}: {error}")
            return 0
        outbox.mark_sent(row, utcnow())
        log.info("notification.sent", order_id=row.order_id, outbox_id=row.id,
                 template=row.template, message_id=message_id, attempts=row.attempts)
        return 1

    def _retry_or_give_up(self, outbox: OutboxRepository, row: OutboxRow, error: str) -> None:
        give_up = row.attempts + 1 >= self._max_attempts
        outbox.record_failure(row, error, give_up=give_up,
                              retry_at=utcnow() + self._backoff(row.attempts + 1))
        event = "notification.failed" if give_up else "notification.retry"
        log.warning(event, order_id=row.order_id, outbox_id=row.id, template=row.template,
                    attempts=row.attempts, error=error)
