"""Carriers that behave like real ones and keep their books in PostgreSQL.

A label printed before a worker died is still there when the next worker asks. Postal code
`00000` is an address the carrier refuses. Each `track` call moves a parcel one scan along
its journey: the workflow's durable timer between polls stands for the transit time, so
tests skip days by skipping timers rather than waiting for a clock here.

A rate is the carrier's base price plus 1.00 (100 minor units of the rate's currency) for
every unit beyond the first three across all parcels.
"""

from __future__ import annotations

import asyncio
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
from domain.money import Money
from domain.order import Address

REJECTED_POSTAL_CODE = "00000"
FREE_UNITS = 3
EXTRA_UNIT_MINOR = 100
# Each scan's location and description; placeholders come from the delivery address.
JOURNEY: tuple[tuple[str, str, str], ...] = (
    ("label_created", "{carrier} online", "Shipping label created, awaiting the parcel"),
    ("picked_up", "Sender's depot", "Parcel picked up from the sender"),
    ("in_transit", "{country} sorting centre", "Parcel sorted and on its way"),
    ("out_for_delivery", "{postal_code} {city}", "Out for delivery"),
    ("delivered", "{city}, {country}", "Delivered to {name}"),
)
DELIVERED = len(JOURNEY) - 1


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
        self._latency_ms = latency_ms
        self._failure_rate = transient_failure_rate
        self._rng = rng or random.Random()

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
                raise ShipmentNotCancellable(f"{tracking_number} is already {JOURNEY[row.step][0]}")
            row.cancelled = True

    async def track(self, *, tracking_number: str) -> list[TrackingEvent]:
        await self._network()
        async with self._sessions.begin() as session:
            row = await self._lock(session, tracking_number)
            if not row.cancelled and row.step < DELIVERED:
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
        code, location, description = JOURNEY[row.step]
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
        if self._latency_ms > 0:
            await asyncio.sleep(self._latency_ms * self._rng.uniform(0.5, 1.5) / 1000)
        if self._rng.random() < self._failure_rate:
            raise CarrierUnavailable("simulated network failure")


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
        status="cancelled" if row.cancelled else JOURNEY[row.step][0],
        cancelled=row.cancelled,
    )
