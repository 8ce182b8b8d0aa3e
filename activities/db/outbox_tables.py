"""The transactional outbox: customer messages committed with the timeline event they tell of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class OutboxRow(Base):
    """One message to a customer; a replayed event finds its (order_id, event_seq) taken."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("order_id", "event_seq", name="outbox_order_event"),
        # The relay's only question is "which pending rows are next".
        Index("ix_outbox_pending", "id", postgresql_where="status = 'pending'"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str]
    event_seq: Mapped[int]
    template: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str]  # the customer's email address
    subject: Mapped[str]
    body: Mapped[str]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # After a failed attempt the relay leaves the row alone until then (backoff).
    next_attempt_at: Mapped[datetime | None]
