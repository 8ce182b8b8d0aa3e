"""Carriers that behave like real ones and keep their books in PostgreSQL.

A label printed before a worker died is still there when the next worker asks. Each `track`
call moves a parcel one scan along its journey: the workflow's durable timer between polls
stands for the transit time, so tests skip days by skipping timers rather than waiting for a
clock here.

The destination's postal code picks the journey, so tests and demos can stage every outcome:

- `00000`: the carrier refuses the address (no label; for return labels, the sender's).
- `99001`: the first delivery attempt fails, the second succeeds: ..., out_for_delivery,
  delivery_failed, out_for_delivery, delivered.
- `99002`: nobody takes the parcel and it goes back: ..., out_for_delivery, delivery_failed,
  returned_to_sender (final).
- `99003`: the parcel is lost: label_created, picked_up, in_transit, lost (final).
- anything else: label_created, picked_up, in_transit, out_for_delivery, delivered.

A return label's parcel travels label_created, in_transit, delivered (at the merchant's
warehouse); a sender with postal code `99003` loses it: label_created, in_transit, lost.

A rate is the carrier's base price plus 1.00 (100 minor units of the rate's currency) for
every unit beyond the first three across all parcels.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.carriers.carrier import (
    AddressRejected,
    CarrierUnavailable,
    CreatedShipment,
    Parcel,
    Rate,
    ShipmentNotCancellable,
    TrackingEvent,
)
from activities.carriers.sim_tables import CarriersimEventRow, CarriersimShipmentRow
from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.simulated_network import SimulatedNetwork
from domain.money import Money
from domain.order import Address

REJECTED_POSTAL_CODE = "00000"
SECOND_ATTEMPT_POSTAL_CODE = "99001"
RETURNED_POSTAL_CODE = "99002"
LOST_POSTAL_CODE = "99003"
FREE_UNITS = 3
EXTRA_UNIT_MINOR = 100

# A scan's code, location and description; placeholders come from the label's address.
Scan = tuple[str, str, str]
LABEL_CREATED: Scan = ("label_created", "{carrier} online", "Shipping label created, awaiting the parcel")
PICKED_UP: Scan = ("picked_up", "Sender's depot", "Parcel picked up from the sender")
IN_TRANSIT: Scan = ("in_transit", "{country} sorting centre", "Parcel sorted and on its way")
OUT_FOR_DELIVERY: Scan = ("out_for_delivery", "{postal_code} {city}", "Out for delivery")
DELIVERED: Scan = ("delivered", "{city}, {country}", "Delivered to {name}")
DELIVERY_FAILED: Scan = ("delivery_failed", "{postal_code} {city}",
                         "Delivery failed: {name} was not found at the address")
RETURNED_TO_SENDER: Scan = ("returned_to_sender", "Sender's depot",
                            "Undeliverable: returned to the sender")
LOST: Scan = ("lost", "{country} sorting centre", "Parcel cannot be found and is declared lost")
RETURN_LABEL_CREATED: Scan = ("label_created", "{carrier} online",
                              "Return label created, awaiting the parcel from {name}")
RETURN_IN_TRANSIT: Scan = ("in_transit", "{postal_code} {city}",
                           "Return parcel handed in and on its way to the warehouse")
RETURN_DELIVERED: Scan = ("delivered", "Merchant's warehouse", "Return delivered to the warehouse")

JOURNEY: tuple[Scan, ...] = (LABEL_CREATED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED)
OUTBOUND_JOURNEYS: dict[str, tuple[Scan, ...]] = {
    SECOND_ATTEMPT_POSTAL_CODE: (*JOURNEY[:4], DELIVERY_FAILED, OUT_FOR_DELIVERY, DELIVERED),
    RETURNED_POSTAL_CODE: (*JOURNEY[:4], DELIVERY_FAILED, RETURNED_TO_SENDER),
    LOST_POSTAL_CODE: (*JOURNEY[:3], LOST),
}
RETURN_JOURNEY: tuple[Scan, ...] = (RETURN_LABEL_CREATED, RETURN_IN_TRANSIT, RETURN_DELIVERED)
LOST_RETURN_JOURNEY: tuple[Scan, ...] = (RETURN_LABEL_CREATED, RETURN_IN_TRANSIT, LOST)


def journey_of(row: CarriersimShipmentRow) -> tuple[Scan, ...]:
    """The scans this parcel will have, chosen by its kind and its address's postal code."""
    postal_code = row.address.get("postal_code", "")
    if row.kind == "return":
        return LOST_RETURN_JOURNEY if postal_code == LOST_POSTAL_CODE else RETURN_JOURNEY
    return OUTBOUND_JOURNEYS.get(postal_code, JOURNEY)


class UnknownShipment(ValueError):
    """The carrier has no shipment with this tracking number; retrying will not help."""


@dataclass(frozen=True)
class ShipmentState:
    """A shipment as the carrier's back office sees it."""

    carrier: str
    tracking_number: str
    order_id: str
    label_url: str
    status: str  # the last scan's code, or cancelled
    cancelled: bool
    kind: str = "outbound"  # outbound | return
    rma: str = ""


class SimulatedCarrier:
    """A Carrier over a pretend network whose books are the `carriersim_` tables."""

    def __init__(
        self,
        code: str,
        session_factory: SessionFactory,
        *,
        service: str,
        base_price_minor: int,
        transit_days: int,
        latency_ms: int = 60,
        transient_failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.code = code
        self._sessions = session_factory
        self._service = service
        self._base_price_minor = base_price_minor
        self._transit_days = transit_days
        self._network_link = SimulatedNetwork(latency_ms, transient_failure_rate,
                                              rng or random.Random())

    async def rates(self, *, address: Address, parcels: list[Parcel], currency: str) -> list[Rate]:
        await self._network()
        units = sum(parcel.quantity for parcel in parcels)
        price = self._base_price_minor + max(0, units - FREE_UNITS) * EXTRA_UNIT_MINOR
        return [Rate(self.code, self._service, Money(price, currency), self._transit_days)]

    async def create_shipment(
        self, *, idempotency_key: str, order_id: str, address: Address, parcels: list[Parcel]
    ) -> CreatedShipment:
        await self._network()
        if address.postal_code == REJECTED_POSTAL_CODE:
            raise AddressRejected(f"{self.code} does not deliver to {address.postal_code}")
        tracking = f"SIM{self._service[:1].upper()}{secrets.token_hex(5).upper()}"
        return await self._print_label(
            tracking, idempotency_key=idempotency_key, order_id=order_id, address=address,
            parcels=parcels)

    async def create_return_label(
        self, *, idempotency_key: str, order_id: str, rma: str, sender: Address,
        parcels: list[Parcel]
    ) -> CreatedShipment:
        await self._network()
        if sender.postal_code == REJECTED_POSTAL_CODE:
            raise AddressRejected(f"{self.code} does not collect from {sender.postal_code}")
        tracking = f"RET{self._service[:1].upper()}{secrets.token_hex(5).upper()}"
        return await self._print_label(
            tracking, idempotency_key=idempotency_key, order_id=order_id, address=sender,
            parcels=parcels, kind="return", rma=rma)

    async def _print_label(
        self, tracking: str, *, idempotency_key: str, order_id: str, address: Address,
        parcels: list[Parcel], kind: str = "outbound", rma: str = ""
    ) -> CreatedShipment:
        """Stores the label once per key; a repeated key answers with the first label."""
        shipment = CarriersimShipmentRow
        async with self._sessions.begin() as session:
            created = await session.scalar(
                insert(shipment)
                .values(
                    tracking_number=tracking,
                    carrier=self.code,
                    idempotency_key=idempotency_key,
                    order_id=order_id,
                    address=asdict(address),
                    parcels=[asdict(parcel) for parcel in parcels],
                    label_url=f"https://labels.{self.code}.example/{tracking}.pdf",
                    kind=kind,
                    rma=rma,
                    step=0,
                )
                .on_conflict_do_nothing(index_elements=["carrier", "idempotency_key"])
                .returning(shipment.tracking_number)
            )
            row = await session.scalar(
                select(shipment).where(
                    shipment.carrier == self.code, shipment.idempotency_key == idempotency_key
                )
            )
            assert row is not None
            if created is not None:
                session.add(self._scan(row))
            return CreatedShipment(self.code, row.tracking_number, row.label_url)

    async def cancel_shipment(self, *, tracking_number: str) -> None:
        await self._network()
        async with self._sessions.begin() as session:
            row = await self._lock(session, tracking_number)
            if row.cancelled:
                return
            if row.step > 0:
                raise ShipmentNotCancellable(
                    f"{tracking_number} is already {journey_of(row)[row.step][0]}")
            row.cancelled = True

    async def track(self, *, tracking_number: str) -> list[TrackingEvent]:
        await self._network()
        async with self._sessions.begin() as session:
            row = await self._lock(session, tracking_number)
            if not row.cancelled and row.step < len(journey_of(row)) - 1:
                row.step += 1
                session.add(self._scan(row))
            scans = await session.scalars(
                select(CarriersimEventRow)
                .where(CarriersimEventRow.tracking_number == tracking_number)
                .order_by(CarriersimEventRow.seq)
            )
            return [TrackingEvent(s.code, s.at, s.location, s.description) for s in scans]

    async def shipments_for(self, order_id: str) -> list[ShipmentState]:
        """Every label this carrier printed for the order, oldest first."""
        shipment = CarriersimShipmentRow
        async with self._sessions() as session:
            rows = await session.scalars(
                select(shipment)
                .where(shipment.carrier == self.code, shipment.order_id == order_id)
                .order_by(shipment.created_at)
            )
            return [_state(row) for row in rows]

    async def _lock(self, session: AsyncSession, tracking_number: str) -> CarriersimShipmentRow:
        row = await session.scalar(
            select(CarriersimShipmentRow)
            .where(
                CarriersimShipmentRow.carrier == self.code,
                CarriersimShipmentRow.tracking_number == tracking_number,
            )
            .with_for_update()
        )
        if row is None:
            raise UnknownShipment(f"{self.code} has no shipment {tracking_number!r}")
        return row

    def _scan(self, row: CarriersimShipmentRow) -> CarriersimEventRow:
        code, location, description = journey_of(row)[row.step]
        place = {**row.address, "carrier": self.code}
        return CarriersimEventRow(
            tracking_number=row.tracking_number,
            seq=row.step,
            code=code,
            at=utcnow(),
            location=location.format(**place),
            description=description.format(**place),
        )

    async def _network(self) -> None:
        """A round trip's delay, and now and then a failure before the carrier sees the call."""
        await self._network_link.round_trip(CarrierUnavailable)


def simulated_carriers(
    session_factory: SessionFactory, latency_ms: int = 60
) -> dict[str, SimulatedCarrier]:
    """The two carriers fulfil ships with in development and tests."""
    carriers = [
        SimulatedCarrier(
            "sim-standard", session_factory, service="standard", base_price_minor=490,
            transit_days=3, latency_ms=latency_ms,
        ),
        SimulatedCarrier(
            "sim-express", session_factory, service="express", base_price_minor=1290,
            transit_days=1, latency_ms=latency_ms,
        ),
    ]
    return {carrier.code: carrier for carrier in carriers}


def _state(row: CarriersimShipmentRow) -> ShipmentState:
    return ShipmentState(
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        order_id=row.order_id,
        label_url=row.label_url,
        status="cancelled" if row.cancelled else journey_of(row)[row.step][0],
        cancelled=row.cancelled,
        kind=row.kind,
        rma=row.rma,
    )
