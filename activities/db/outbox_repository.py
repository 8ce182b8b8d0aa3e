"""The outbox: customer messages queued with their timeline event, and the relay's claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.outbox_tables import OutboxRow
from activities.db.tables import OrderRow
from domain.notifications import OrderFacts, message_for

PENDING, SENT, FAILED = "pending", "sent", "failed"
STATUSES = (PENDING, SENT, FAILED)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_for_event(self, order_id: str, seq: int, kind: str, detail: str) -> bool:
        """Queues the message the event tells the customer, if any; a replayed event adds none."""
        customer = (await self.session.execute(
            select(OrderRow.customer_email, OrderRow.customer_name)
            .where(OrderRow.order_id == order_id))).one_or_none()
        if customer is None or not customer.customer_email:
            return False  # nobody to write to: the order was never recorded
        message = message_for(kind, detail, OrderFacts(order_id, customer.customer_name))
        if message is None:
            return False
        inserted = await self.session.scalar(insert(OutboxRow).values(
            order_id=order_id, event_seq=seq, template=message.template,
            recipient=customer.customer_email, subject=message.subject, body=message.body,
        ).on_conflict_do_nothing(index_elements=["order_id", "event_seq"])
            .returning(OutboxRow.id))
        return inserted is not None

    async def withdraw_pending(self, order_id: str, seqs: list[int]) -> None:
        """Deletes the unsent messages of events that turned out never to have happened."""
        if seqs:
            await self.session.execute(delete(OutboxRow).where(
                OutboxRow.order_id == order_id, OutboxRow.event_seq.in_(seqs),
                OutboxRow.status == PENDING))

    async def claim_next_pending(self, after_id: int, now: datetime) -> OutboxRow | None:
        """Locks the oldest pending message past `after_id` that is due by `now` and that no
        other relay holds."""
        due = or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now)
        return await self.session.scalar(
            select(OutboxRow).where(OutboxRow.status == PENDING, OutboxRow.id > after_id, due)
            .order_by(OutboxRow.id).limit(1).with_for_update(skip_locked=True))

    def mark_sent(self, row: OutboxRow, at: datetime) -> None:
        row.attempts += 1
        row.status, row.sent_at, row.last_error = SENT, at, ""

    def record_failure(self, row: OutboxRow, error: str, *, give_up: bool,
                       retry_at: datetime | None = None) -> None:
        row.attempts += 1
        row.last_error = error
        row.next_attempt_at = retry_at
        if give_up:
            row.status = FAILED

    async def search(self, *, order_id: str | None = None, status: str | None = None,
                     limit: int = 100) -> list[OutboxRow]:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if order_id:
            query = query.where(OutboxRow.order_id == order_id)
        if status:
            query = query.where(OutboxRow.status == status)
        return list((await self.session.scalars(query)).all())

    async def count_by_status(self, order_ids: list[str]) -> dict[str, int]:
        """How many of these orders' messages are pending, sent and failed."""
        counts = await self.session.execute(
            select(OutboxRow.status, func.count()).where(OutboxRow.order_id.in_(order_ids))
            .group_by(OutboxRow.status))
        return {status: 0 for status in STATUSES} | {status: n for status, n in counts}
