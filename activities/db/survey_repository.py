"""Satisfaction surveys: sent once after delivery, then answered once or expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.aftercare_tables import SurveyRow


@dataclass(frozen=True)
class Survey:
    order_id: str
    status: str  # sent | answered | expired
    sent_at: datetime
    expires_at: datetime
    rating: int | None = None
    comment: str = ""
    answered_at: datetime | None = None


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, order_id: str, sent_at: datetime, expires_at: datetime) -> bool:
        """Records the survey as sent once; False when it already was."""
        inserted = await self.session.scalar(insert(SurveyRow).values(
            order_id=order_id, status="sent", sent_at=sent_at, expires_at=expires_at,
            comment="",
        ).on_conflict_do_nothing().returning(SurveyRow.order_id))
        return inserted is not None

    async def answer(self, order_id: str, rating: int, comment: str, at: datetime) -> bool:
        """Stores the customer's answer while the survey is open; False when it is not (already
        answered, expired or never sent)."""
        answered = await self.session.scalar(
            update(SurveyRow).where(SurveyRow.order_id == order_id, SurveyRow.status == "sent")
            .values(status="answered", rating=rating, comment=comment, answered_at=at)
            .returning(SurveyRow.order_id))
        return answered is not None

    async def expire(self, order_id: str) -> bool:
        """Closes an unanswered survey; False when it was answered or expired already."""
        expired = await self.session.scalar(
            update(SurveyRow).where(SurveyRow.order_id == order_id, SurveyRow.status == "sent")
            .values(status="expired").returning(SurveyRow.order_id))
        return expired is not None

    async def get(self, order_id: str) -> Survey | None:
        row = await self.session.scalar(select(SurveyRow).where(SurveyRow.order_id == order_id))
        if row is None:
            return None
        return Survey(row.order_id, row.status, row.sent_at, row.expires_at, row.rating,
                      row.comment, row.answered_at)
