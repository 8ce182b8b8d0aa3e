"""Tracking events a carrier pushes (webhook or CLI) instead of waiting to be polled: checked,
matched to their order by tracking number, and signalled to the order's workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.db.engine import SessionFactory
from activities.db.order_repository import ShipmentRepository
from api.orders import OrderNotFound
from domain.errors import ActionRefused, DomainError
from domain.text_rules import MAX_NAME, MAX_REASON, text_problem
from domain.tracking import parse_code
from workflows.order_contract import CarrierEvent, order_workflow_id
from workflows.order_workflow import OrderWorkflow

log = structlog.get_logger(__name__)

# Carrier clocks drift a little; an event further ahead than this is a mistake, not a scan.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_TRACKING_NUMBER = 64
MAX_TEXT = {"location": MAX_NAME, "description": MAX_REASON}


class UnknownParcel(OrderNotFound):
    """No order shipped, or expects back, a parcel with this tracking number."""


class InvalidCarrierEvent(DomainError):
    """A pushed tracking event that cannot be true; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ScanFromTheFuture(InvalidCarrierEvent):
    """A well-formed scan whose time has not come yet by this server's clock."""


@dataclass(frozen=True)
class DeliveredEvent:
    order_id: str
    workflow_id: str
    event: CarrierEvent


def checked_event(tracking_number: str, code: str, at: datetime, location: str,
                  description: str, now: datetime) -> CarrierEvent:
    """The event as the workflow takes it, or InvalidCarrierEvent naming the bad field."""
    location, description = _text("location", location), _text("description", description)
    tracking_number = tracking_number.strip()
    if not tracking_number or len(tracking_number) > MAX_TRACKING_NUMBER:
        raise InvalidCarrierEvent(
            "tracking_number", f"must be 1 to {MAX_TRACKING_NUMBER} characters")
    if text_problem(tracking_number, max_length=MAX_TRACKING_NUMBER):
        raise InvalidCarrierEvent("tracking_number", "must not contain control characters")
    try:
        tracking_code = parse_code(code)
    except ValueError as error:
        raise InvalidCarrierEvent("code", str(error)) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidCarrierEvent("at", "must carry a time zone (e.g. 2025-03-01T09:30:00Z)")
    if at > now + MAX_CLOCK_SKEW:
        raise ScanFromTheFuture("at", f"{at.isoformat()} is in the future")
    return CarrierEvent(tracking_code.value, at.astimezone(UTC), location, description,
                        tracking_number)


def _text(field: str, value: str) -> str:
    """Free text of the scan, stripped; InvalidCarrierEvent when it could not be stored."""
    problem = text_problem(value, max_length=MAX_TEXT[field])
    if problem is not None:
        raise InvalidCarrierEvent(field, problem)
    return value.strip()


class CarrierEventService:
    def __init__(self, client: Client, session_factory: SessionFactory) -> None:
        self.client = client
        self.session_factory = session_factory

    async def deliver(self, tracking_number: str, code: str, at: datetime, location: str = "",
                      description: str = "", carrier: str = "") -> DeliveredEvent:
        """Hands one scan to the order its parcel belongs to; `carrier`, when given, must be
        the parcel's carrier, so one carrier cannot move another's parcels."""
        event = checked_event(tracking_number, code, at, location, description,
                              datetime.now(UTC))
        order_id = await self._order_of(event.tracking_number, carrier)
        workflow_id = order_workflow_id(order_id)
        try:
            await self.client.get_workflow_handle(workflow_id).signal(
                OrderWorkflow.carrier_event, event)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            # The order's workflow has finished (or never started): nobody is listening.
            raise ActionRefused(f"order {order_id!r} no longer follows its parcels") from None
        log.info("carrier.event_delivered", order_id=order_id, carrier=carrier,
                 tracking=event.tracking_number, code=event.code, at=event.at.isoformat())
        return DeliveredEvent(order_id, workflow_id, event)

    async def _order_of(self, tracking_number: str, carrier: str) -> str:
        async with self.session_factory() as session:
            parcel = await ShipmentRepository(session).find_parcel(tracking_number)
        if parcel is None or (carrier and parcel[1] != carrier):
            raise UnknownParcel(f"no parcel {tracking_number!r}"
                                + (f" of {carrier}" if carrier else ""))
        return parcel[0]
