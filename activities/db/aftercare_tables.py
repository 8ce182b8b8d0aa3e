"""What happens after a parcel leaves: carrier claims, returns and satisfaction surveys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class CarrierClaimRow(Base):
    """A claim against a carrier for a parcel it lost; one per parcel."""

    __tablename__ = "carrier_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(String(32))  # lost | returned_to_sender
    amount: Mapped[int] = mapped_column(BigInteger)  # the value of the goods claimed, minor units
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="filed")
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReturnRow(Base):
    """A return merchandise authorisation, tracked on two axes: reception and acceptance."""

    __tablename__ = "returns"
    __table_args__ = (Index("ix_returns_requested_at", "requested_at"),)
    rma: Mapped[str] = mapped_column(String(80), primary_key=True)
    order_id: Mapped[str] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(default="")
    resolution: Mapped[str] = mapped_column(String(16))  # refund | exchange
    reception: Mapped[str] = mapped_column(String(16), default="awaiting")
    acceptance: Mapped[str] = mapped_column(String(16), default="pending")
    rejection_reason: Mapped[str] = mapped_column(default="")
    carrier: Mapped[str] = mapped_column(String(32), default="")
    tracking_number: Mapped[str] = mapped_column(default="")
    label_url: Mapped[str] = mapped_column(default="")
    currency: Mapped[str] = mapped_column(String(3))
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units refunded for it
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ReturnLineRow(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("resellable + damaged <= quantity", name="inspected_within_quantity"),
    )
    rma: Mapped[str] = mapped_column(ForeignKey("returns.rma"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int]
    unit_price: Mapped[int] = mapped_column(BigInteger)
    warehouse: Mapped[str] = mapped_column(String(16), default="")  # restocked into
    resellable: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)
    exchange_sku: Mapped[str] = mapped_column(String(64), default="")


class SurveyRow(Base):
    """The satisfaction survey sent after delivery, and its answer."""

    __tablename__ = "surveys"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | answered | expired
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(default="")
    answered_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_in_range"),
    )
