"""The simulated gateway's own books: authorizations, answered requests and gift cards.

These belong to the pretend payment network, not to fulfil; fulfil's record of payments is
`payments` in activities/db/tables.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class PaysimAuthorizationRow(Base):
    """Money held on a customer's payment method and what has happened to it since."""

    __tablename__ = "paysim_authorizations"
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(16))
    token: Mapped[str]
    customer_id: Mapped[str] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(String(3))
    authorized: Mapped[int] = mapped_column(BigInteger)
    captured: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    voided: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaysimOperationRow(Base):
    """One idempotency key: the request it was first used for and the answer it got.

    `status` is `pending` until the gateway answers (a transient failure leaves it pending and
    counts the attempt), then the receipt's status or `declined`.
    """

    __tablename__ = "paysim_operations"
    idempotency_key: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # authorize | capture | void | refund
    request: Mapped[str]
    attempts: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    authorization: Mapped[str | None] = mapped_column(String(64), index=True)
    reference: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    decline_code: Mapped[str | None] = mapped_column(String(48))
    decline_message: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class PaysimGiftCardRow(Base):
    """A gift card's remaining balance; it starts at the amount its token names."""

    __tablename__ = "paysim_gift_cards"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)
