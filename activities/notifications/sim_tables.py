"""The simulated notification provider's own book of the messages it has sent.

It belongs to the pretend network, not to fulfil; fulfil's record of what it asked to send is
`outbox` in activities/db/outbox_tables.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class NotifysimMessageRow(Base):
    """One message the provider accepted, under the idempotency key it was first sent with."""

    __tablename__ = "notifysim_messages"
    idempotency_key: Mapped[str] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    recipient: Mapped[str] = mapped_column(index=True)
    template: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str]
    body: Mapped[str]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
