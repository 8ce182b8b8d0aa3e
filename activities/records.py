"""Activities that keep the order's durable record (order row, lines, timeline) in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository, ShipmentRepository
from domain.order import PricedOrder


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


@dataclass(frozen=True)
class ShipmentStatusInput:
    tracking_number: str
    status: str


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
        """Appends one timeline event and moves the order's recorded status."""
        async with self.session_factory.begin() as session:
            return await OrderRepository(session).record_event(
                input.order_id, input.seq, input.at, input.status, input.kind, input.detail,
                input.actor)

    @activity.defn(name="record_shipment_status")
    async def record_shipment_status(self, input: ShipmentStatusInput) -> None:
        """Keeps the shipment row current when the carrier pushes an event."""
        async with self.session_factory.begin() as session:
            await ShipmentRepository(session).set_status(input.tracking_number, input.status)
