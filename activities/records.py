"""Activities that keep the order's durable record (order row, lines, timeline) in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from temporalio import activity

from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository, ShipmentRepository
from activities.db.tables import OrderRow
from activities.errors import business_failure
from domain.order import PricedOrder

INVALID_SLA_KIND = "InvalidSlaKind"
# Which flag on the order each kind of broken promise sets.
SLA_FLAGS = {"ship": OrderRow.ship_sla_breached, "delivery": OrderRow.delivery_sla_breached}


@dataclass(frozen=True)
class RecordOrderInput:
    order: PricedOrder
    workflow_id: str
    placed_at: datetime


@dataclass(frozen=True)
class RecordEventInput:
    order_id: str
    seq: int
    at: datetime
    status: str
    kind: str
    detail: str
    actor: str
    # The workflow's history length when it noted the event; 0 in older histories.
    task: int = 0


@dataclass(frozen=True)
class RecordEventsInput:
    events: list[RecordEventInput]


@dataclass(frozen=True)
class ShipmentStatusInput:
    tracking_number: str
    status: str
    at: datetime | None = None  # the carrier's time of the scan; unset in older histories


@dataclass(frozen=True)
class SlaBreachInput:
    order_id: str
    kind: str  # ship | delivery


class RecordActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="record_order")
    async def record_order(self, input: RecordOrderInput) -> bool:
        """Stores the placed order and its lines once."""
        async with self.session_factory.begin() as session:
            return await OrderRepository(session).add_if_absent(
                input.order, input.workflow_id, input.placed_at)

    @activity.defn(name="record_event")
    async def record_event(self, input: RecordEventInput) -> bool:
        """Writes one timeline event, superseding an abandoned task's, and moves the status."""
        async with self.session_factory.begin() as session:
            return await OrderRepository(session).record_event(
                input.order_id, input.seq, input.at, input.status, input.kind, input.detail,
                input.actor, task=input.task)

    @activity.defn(name="record_events")
    async def record_events(self, input: RecordEventsInput) -> int:
        """Writes a batch of timeline events in one transaction; returns how many changed."""
        changed = 0
        async with self.session_factory.begin() as session:
            repository = OrderRepository(session)
            for event in input.events:
                changed += await repository.record_event(
                    event.order_id, event.seq, event.at, event.status, event.kind,
                    event.detail, event.actor, task=event.task)
        return changed

    @activity.defn(name="record_shipment_status")
    async def record_shipment_status(self, input: ShipmentStatusInput) -> None:
        """Keeps the shipment row current when the carrier pushes an event."""
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).record_scan(
                input.tracking_number, input.status, input.at or utcnow())

    @activity.defn(name="record_sla_breach")
    async def record_sla_breach(self, input: SlaBreachInput) -> None:
        """Flags the order as having broken its shipping method's ship or delivery promise."""
        try:
            flag = SLA_FLAGS[input.kind]
        except KeyError:
            raise business_failure(
                INVALID_SLA_KIND, f"SLA kind must be ship or delivery, got {input.kind!r}") from None
        # The flag only ever goes up, so setting it again is harmless.
        async with self.session_factory.begin() as session:
            await session.execute(update(OrderRow).where(OrderRow.order_id == input.order_id)
                                  .values({flag: True}))
