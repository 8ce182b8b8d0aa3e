"""Activities that hand parcels to carriers, follow them to the door, buy return labels
and claim from the carrier what it lost."""

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
from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.db.order_repository import ShipmentRepository
from activities.errors import ADDRESS_REJECTED, SHIPMENT_NOT_CANCELLABLE, business_failure
from domain.money import Money
from domain.order import Address

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CreateShipmentInput:
    order_id: str
    key: str
    carrier: str
    address: Address
    parcels: list[Parcel]
    # Defaults keep the histories of orders that shipped before these fields decodable.
    warehouse: str = ""
    purpose: str = "outbound"  # outbound | replacement


@dataclass(frozen=True)
class ReturnLabelInput:
    order_id: str
    rma: str
    key: str
    carrier: str
    sender: Address  # the customer sending the goods back
    parcels: list[Parcel]


@dataclass(frozen=True)
class ClaimInput:
    order_id: str
    carrier: str
    tracking_number: str
    reason: str  # lost | returned_to_sender
    amount: Money  # the value of the goods claimed


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
                tracking_number=created.tracking_number, label_url=created.label_url,
                warehouse=input.warehouse, purpose=input.purpose, shipped_at=utcnow())
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
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).record_scans(
                input.tracking_number, [(e.code, e.at) for e in events])
        return [TrackingUpdate(e.code, e.at, e.location, e.description) for e in events]

    @activity.defn(name="create_return_label")
    async def create_return_label(self, input: ReturnLabelInput) -> ShipmentInfo:
        """Buys the prepaid label the customer sends the goods back to the warehouse with."""
        try:
            created = await self._carrier(input.carrier).create_return_label(
                idempotency_key=input.key, order_id=input.order_id, rma=input.rma,
                sender=input.sender, parcels=input.parcels)
        except AddressRejected as rejected:
            raise business_failure(ADDRESS_REJECTED, str(rejected)) from rejected
        log.info("shipment.return_label_created", rma=input.rma, carrier=created.carrier,
                 tracking=created.tracking_number)
        return ShipmentInfo(created.carrier, created.tracking_number, created.label_url)

    @activity.defn(name="track_return")
    async def track_return(self, input: ShipmentRef) -> list[TrackingUpdate]:
        """Asks the carrier where a return parcel is; returns every event so far."""
        # The returns record belongs to the return activities: nothing is written here.
        events = await self._carrier(input.carrier).track(tracking_number=input.tracking_number)
        return [TrackingUpdate(e.code, e.at, e.location, e.description) for e in events]

    @activity.defn(name="file_claim")
    async def file_claim(self, input: ClaimInput) -> str:
        """Claims the value of a lost or returned parcel from its carrier, once per parcel."""
        async with self.session_factory.begin() as session:
            claim_id, filed = await ShipmentRepository(session).file_claim(
                order_id=input.order_id, carrier=input.carrier,
                tracking_number=input.tracking_number, reason=input.reason,
                amount=input.amount.amount, currency=input.amount.currency)
        claim = f"CLM-{claim_id}"
        if filed:
            log.info("carrier.claim_filed", claim=claim, carrier=input.carrier,
                     tracking=input.tracking_number, reason=input.reason,
                     amount=input.amount.amount, currency=input.amount.currency)
        return claim

    async def _set_status(self, tracking_number: str, status: str) -> None:
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).set_status(tracking_number, status)
