"""The simulated carriers' own books: shipments and the scans they have had so far.

These belong to the pretend carrier network, not to fulfil; fulfil's record of shipments is
`shipments` in activities/db/tables.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class CarriersimShipmentRow(Base):
    """A label the carrier printed; `step` indexes how far along its journey the parcel is."""

    __tablename__ = "carriersim_shipments"
    __table_args__ = (UniqueConstraint("carrier", "idempotency_key", name="carrier_key"),)
    tracking_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str]
    order_id: Mapped[str] = mapped_column(index=True)
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    parcels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    label_url: Mapped[str]
    # outbound: to the customer at `address`; return: from the customer at `address` back
    # to the merchant's warehouse, for the return authorisation `rma`.
    kind: Mapped[str] = mapped_column(String(16), default="outbound", server_default="outbound")
    rma: Mapped[str] = mapped_column(default="", server_default="")
    step: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CarriersimEventRow(Base):
    """One scan of a parcel, as the carrier's tracking page shows it."""

    __tablename__ = "carriersim_events"
    tracking_number: Mapped[str] = mapped_column(
        ForeignKey("carriersim_shipments.tracking_number"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    location: Mapped[str]
    description: Mapped[str]
