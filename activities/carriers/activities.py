"""Activities that hand parcels to carriers and follow them to the door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from temporalio import activity

from activities.carriers.carrier import (
    AddressRejected,
    Carrier,
    Parcel,
    ShipmentNotCancellable,
)
from activities.db.engine import SessionFactory
from activities.db.order_repository import ShipmentRepository
from activities.errors import ADDRESS_REJECTED, SHIPMENT_NOT_CANCELLABLE, business_failure
from domain.order import Address

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CreateShipmentInput:
    order_id: str
    key: str
    carrier: str
    address: Address
    parcels: list[Parcel]


@dataclass(frozen=True)
class ShipmentInfo:
    carrier: str
    tracking_number: str
    label_url: str


@dataclass(frozen=True)
class ShipmentRef:
    order_id: str
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class TrackingUpdate:
    code: str
    at: datetime
    location: str
    description: str


class ShippingActivities:
    def __init__(self, carriers: dict[str, Carrier], session_factory: SessionFactory) -> None:
        self.carriers = carriers
        self.session_factory = session_factory

    def _carrier(self, code: str) -> Carrier:
        try:
            return self.carriers[code]
        except KeyError:
            raise business_failure(ADDRESS_REJECTED, f"no carrier adapter {code!r}") from None

    @activity.defn(name="create_shipment")
    async def create_shipment(self, input: CreateShipmentInput) -> ShipmentInfo:
        """Books the parcel with the carrier: label and tracking number."""
        try:
            created = await self._carrier(input.carrier).create_shipment(
                idempotency_key=input.key, order_id=input.order_id, address=input.address,
                parcels=input.parcels)
        except AddressRejected as rejected:
            raise business_failure(ADDRESS_REJECTED, str(rejected)) from rejected
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).record(
                key=input.key, order_id=input.order_id, carrier=created.carrier,
                tracking_number=created.tracking_number, label_url=created.label_url)
        log.info("shipment.created", carrier=created.carrier, tracking=created.tracking_number)
        return ShipmentInfo(created.carrier, created.tracking_number, created.label_url)

    @activity.defn(name="cancel_shipment")
    async def cancel_shipment(self, input: ShipmentRef) -> None:
        """Voids the label of a parcel that will not be sent."""
        try:
            await self._carrier(input.carrier).cancel_shipment(
                tracking_number=input.tracking_number)
        except ShipmentNotCancellable as error:
            raise business_failure(SHIPMENT_NOT_CANCELLABLE, str(error)) from error
        await self._set_status(input.tracking_number, "cancelled")
        log.info("shipment.cancelled", tracking=input.tracking_number)

    @activity.defn(name="poll_tracking")
    async def poll_tracking(self, input: ShipmentRef) -> list[TrackingUpdate]:
        """Asks the carrier where the parcel is; returns every event so far."""
        events = await self._carrier(input.carrier).track(tracking_number=input.tracking_number)
        if events:
            await self._set_status(input.tracking_number, events[-1].code)
        return [TrackingUpdate(e.code, e.at, e.location, e.description) for e in events]

    async def _set_status(self, tracking_number: str, status: str) -> None:
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).set_status(tracking_number, status)
