"""Orders needing attention: raising the flag with what failed, and finding them again for
the ops dashboard and /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.attention_tables import OrderAttentionRow
from activities.db.tables import OrderEventRow, OrderRow


@dataclass(frozen=True)
class Attention:
    """What one failure that no retry could fix needs a person to know."""

    order_id: str
    workflow_id: str
    seq: int  # the timeline event that tells of it
    at: datetime
    status: str  # the order's status in its workflow
    step: str
    error_type: str
    detail: str


@dataclass(frozen=True)
class FlaggedOrder:
    order_id: str
    status: str | None  # None: the order's own row could never be written
    step: str
    error_type: str
    detail: str
    raised_at: datetime


class AttentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flag(self, attention: Attention) -> bool:
        """Records the failure and raises the order's flag; False when it has no row."""
        await self.session.execute(insert(OrderAttentionRow).values(
            order_id=attention.order_id, workflow_id=attention.workflow_id, seq=attention.seq,
            step=attention.step, error_type=attention.error_type, detail=attention.detail,
            status=attention.status, raised_at=attention.at,
        ).on_conflict_do_nothing())
        flagged = await self.session.scalar(
            update(OrderRow).where(OrderRow.order_id == attention.order_id)
            .values(attention=True).returning(OrderRow.order_id))
        return flagged is not None

    async def resolve(self, order_id: str, step: str, actor: str, at: datetime) -> None:
        """Marks the order's open failures of `step` resolved; its flag drops with the last."""
        await self.session.execute(
            update(OrderAttentionRow)
            .where(OrderAttentionRow.order_id == order_id, OrderAttentionRow.step == step,
                   OrderAttentionRow.resolved_at.is_(None))
            .values(resolved_at=at, resolved_by=actor))
        still_open = exists().where(OrderAttentionRow.order_id == order_id,
                                    OrderAttentionRow.resolved_at.is_(None))
        await self.session.execute(update(OrderRow).where(OrderRow.order_id == order_id)
                                   .values(attention=still_open))

    async def add_event(self, order_id: str, seq: int, at: datetime, status: str, kind: str,
                        detail: str, actor: str = "system") -> None:
        """Writes one timeline event of an order that has a row, and moves its status when
        the event is its latest; no customer message is queued for it."""
        inserted = await self.session.scalar(insert(OrderEventRow).values(
            order_id=order_id, seq=seq, at=at, status=status, kind=kind, detail=detail,
            actor=actor).on_conflict_do_nothing().returning(OrderEventRow.id))
        latest = await self.session.scalar(select(func.max(OrderEventRow.seq)).where(
            OrderEventRow.order_id == order_id))
        if inserted is not None and latest == seq:
            await self.session.execute(update(OrderRow).where(OrderRow.order_id == order_id)
                                       .values(status=status, updated_at=at))

    async def flagged_orders(self, limit: int = 50) -> list[FlaggedOrder]:
        """The latest unresolved failures first, with each order's current status."""
        rows = await self.session.execute(
            select(OrderAttentionRow, OrderRow.status)
            .outerjoin(OrderRow, OrderRow.order_id == OrderAttentionRow.order_id)
            .where(OrderAttentionRow.resolved_at.is_(None))
            .order_by(OrderAttentionRow.raised_at.desc(), OrderAttentionRow.id.desc())
            .limit(limit))
        return [FlaggedOrder(row.order_id, status, row.step, row.error_type, row.detail,
                             row.raised_at) for row, status in rows]

    async def count_flagged_orders(self) -> int:
        """Orders ever flagged: a counter, so resolved flags still count."""
        return await self.session.scalar(
            select(func.count(func.distinct(OrderAttentionRow.order_id)))) or 0

    async def count_orders_needing_attention(self) -> int:
        """Orders with a failure not yet resolved."""
        return await self.session.scalar(
            select(func.count(func.distinct(OrderAttentionRow.order_id)))
            .where(OrderAttentionRow.resolved_at.is_(None))) or 0
