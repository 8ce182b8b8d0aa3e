"""Orders that need a person: what failed beyond any retry, kept apart from the order row so
an order whose own row could never be written is on record too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class OrderAttentionRow(Base):
    """One failure of an order's step that no retry could fix; `orders.attention` is true while
    one of its failures is unresolved."""

    __tablename__ = "order_attention"
    # `seq` is the timeline event telling of it: a retried write finds it taken.
    __table_args__ = (UniqueConstraint("order_id", "seq", name="order_attention_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    workflow_id: Mapped[str]
    seq: Mapped[int]
    step: Mapped[str] = mapped_column(String(64))  # the activity that failed
    error_type: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str]  # printable and bounded: it must be writable whatever failed
    status: Mapped[str] = mapped_column(String(32))  # the order's status when it happened
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when support's retry of the step went through.
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
