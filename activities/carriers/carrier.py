"""What fulfil needs from a carrier. Creating a shipment or a return label carries an
idempotency key: a repeated key returns the first label instead of printing a second one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.money import Money
from domain.order import Address


class AddressRejected(Exception):
    """The carrier cannot deliver to this address; retrying will not help."""


class CarrierUnavailable(Exception):
    """A transient failure talking to the carrier: the same call may be retried."""


class ShipmentNotCancellable(Exception):
    """The parcel has already been picked up; the carrier will not cancel it."""


@dataclass(frozen=True)
class Parcel:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Rate:
    carrier: str
    service: str
    price: Money
    transit_days: int


@dataclass(frozen=True)
class CreatedShipment:
    carrier: str
    tracking_number: str
    label_url: str


@dataclass(frozen=True)
class TrackingEvent:
    # label_created | picked_up | in_transit | out_for_delivery | delivered, or an exception:
    # delivery_failed | returned_to_sender | lost (domain/tracking.py)
    code: str
    at: datetime  # UTC, the carrier's time
    location: str
    description: str


class Carrier(Protocol):
    code: str

    async def rates(self, *, address: Address, parcels: list[Parcel], currency: str) -> list[Rate]: ...

    async def create_shipment(
        self, *, idempotency_key: str, order_id: str, address: Address, parcels: list[Parcel]
    ) -> CreatedShipment: ...

    async def create_return_label(
        self, *, idempotency_key: str, order_id: str, rma: str, sender: Address,
        parcels: list[Parcel]
    ) -> CreatedShipment:
        """A prepaid label the customer sticks on the parcel that goes back to the warehouse."""
        ...

    async def cancel_shipment(self, *, tracking_number: str) -> None: ...

    async def track(self, *, tracking_number: str) -> list[TrackingEvent]: ...
