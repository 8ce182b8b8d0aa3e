"""Activities of a return: open the RMA, keep its label and where the parcel is, book what
the warehouse counted back into stock (or write it off) and settle it. Every one is safe to
retry; the workflow decides, these only record and book."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.db.backorder_repository import BackorderRepository, Fill
from activities.db.engine import SessionFactory
from activities.db.return_repository import (
    ACCEPTANCES,
    RECEPTIONS,
    RESOLUTIONS,
    Return,
    ReturnLine,
    ReturnRepository,
)
from activities.db.stock_repository import StockRepository
from activities.errors import RETURN_INSPECTION_INVALID, business_failure
from domain.errors import InvalidStockChange
from domain.money import Money

log = structlog.get_logger(__name__)

UNKNOWN_RETURN = "UnknownReturn"
INVALID_RETURN = "InvalidReturn"


@dataclass(frozen=True)
class ReturnLineInput:
    sku: str
    quantity: int
    unit_price: Money
    warehouse: str  # where resellable units go back into stock
    exchange_sku: str = ""


@dataclass(frozen=True)
class OpenReturnInput:
    order_id: str
    rma: str
    reason: str
    comment: str
    resolution: str  # refund | exchange
    currency: str
    lines: list[ReturnLineInput]
    requested_at: datetime


@dataclass(frozen=True)
class ReturnLabelRecord:
    rma: str
    carrier: str
    tracking_number: str
    label_url: str


@dataclass(frozen=True)
class ReceptionInput:
    rma: str
    reception: str  # awaiting | in_transit | received | lost
    at: datetime


@dataclass(frozen=True)
class InspectedLine:
    sku: str
    resellable: int
    damaged: int


@dataclass(frozen=True)
class ReceiveReturnInput:
    rma: str
    order_id: str
    lines: list[InspectedLine]  # SKUs left out came back empty
    at: datetime
    actor: str


@dataclass(frozen=True)
class StockedUnits:
    sku: str
    warehouse: str
    quantity: int


@dataclass(frozen=True)
class ReceivedReturn:
    restocked: list[StockedUnits]
    written_off: list[StockedUnits]


@dataclass(frozen=True)
class SettleReturnInput:
    rma: str
    acceptance: str  # accepted | rejected
    rejection_reason: str
    refund: Money
    at: datetime


def _check_open(input: OpenReturnInput) -> None:
    """Refuses a return the table could not hold; retrying would not make it valid."""
    problems = []
    if input.resolution not in RESOLUTIONS:
        problems.append(f"resolution: {input.resolution!r} is not one of {RESOLUTIONS}")
    if not input.lines:
        problems.append("lines: a return needs at least one line")
    skus = [line.sku for line in input.lines]
    for n, line in enumerate(input.lines):
        if not line.sku:
            problems.append(f"lines[{n}].sku: may not be empty")
        if line.quantity <= 0:
            problems.append(f"lines[{n}].quantity: must be above 0, got {line.quantity}")
        if line.unit_price.currency != input.currency or line.unit_price.amount < 0:
            problems.append(f"lines[{n}].unit_price: {line.unit_price} is not a price in "
                            f"{input.currency}")
        if skus.count(line.sku) > 1:
            problems.append(f"lines[{n}].sku: {line.sku!r} appears more than once")
    if problems:
        raise business_failure(INVALID_RETURN, f"return {input.rma}: " + "; ".join(problems))


def _counts(stored: Return, lines: list[InspectedLine]) -> dict[str, tuple[int, int]]:
    """The warehouse's count per SKU, refused when it names a SKU the return does not hold
    or counts more units than were returned."""
    returned = {line.sku: line.quantity for line in stored.lines}
    counts: dict[str, tuple[int, int]] = {}
    for n, line in enumerate(lines):
        if line.sku not in returned:
            problem = f"SKU {line.sku!r} is not part of the return"
        elif line.sku in counts:
            problem = f"SKU {line.sku!r} is counted twice"
        elif line.resellable < 0 or line.damaged < 0:
            problem = "counts may not be negative"
        elif line.resellable + line.damaged > returned[line.sku]:
            problem = (f"{line.resellable} resellable + {line.damaged} damaged is more than "
                       f"the {returned[line.sku]} returned")
        else:
            counts[line.sku] = (line.resellable, line.damaged)
            continue
        raise business_failure(RETURN_INSPECTION_INVALID, f"{stored.rma} lines[{n}]: {problem}")
    return counts


def _counted(stored: Return, counts: dict[str, tuple[int, int]]) -> Return:
    """The return as the warehouse counted it."""
    return replace(stored, lines=[
        replace(line, resellable=counts.get(line.sku, (0, 0))[0],
                damaged=counts.get(line.sku, (0, 0))[1]) for line in stored.lines])


def _outcome(stored: Return) -> ReceivedReturn:
    """What booking the return's counted lines does to stock, in (SKU, warehouse) order."""
    lines = sorted(stored.lines, key=lambda line: (line.sku, line.warehouse))
    return ReceivedReturn(
        restocked=[StockedUnits(line.sku, line.warehouse, line.resellable)
                   for line in lines if line.resellable],
        written_off=[StockedUnits(line.sku, line.warehouse, line.damaged)
                     for line in lines if line.damaged])


class ReturnActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="open_return")
    async def open_return(self, input: OpenReturnInput) -> None:
        """Records the RMA and its lines once; a retry finds them recorded."""
        _check_open(input)
        lines = [ReturnLine(line.sku, line.quantity, line.unit_price, line.warehouse,
                            line.exchange_sku) for line in input.lines]
        async with self.session_factory.begin() as session:
            stored = await ReturnRepository(session).open(
                rma=input.rma, order_id=input.order_id, reason=input.reason,
                comment=input.comment, resolution=input.resolution, currency=input.currency,
                lines=lines, requested_at=input.requested_at)
        if stored.order_id != input.order_id:
            raise business_failure(INVALID_RETURN,
                                   f"RMA {input.rma} belongs to order {stored.order_id}")
        log.info("return.opened", rma=input.rma, resolution=input.resolution,
                 reason=input.reason, units=sum(line.quantity for line in input.lines))

    @activity.defn(name="attach_return_label")
    async def attach_return_label(self, input: ReturnLabelRecord) -> None:
        """Stores the return label the carrier issued for the RMA."""
        async with self.session_factory.begin() as session:
            found = await ReturnRepository(session).attach_label(
                input.rma, input.carrier, input.tracking_number, input.label_url)
        if not found:
            raise business_failure(UNKNOWN_RETURN, f"no return {input.rma!r}")
        log.info("return.label_attached", rma=input.rma, carrier=input.carrier,
                 tracking_number=input.tracking_number)

    @activity.defn(name="mark_return_reception")
    async def mark_return_reception(self, input: ReceptionInput) -> None:
        """Records where the returning parcel is; once received it stays received."""
        if input.reception not in RECEPTIONS:
            raise business_failure(INVALID_RETURN, f"reception: {input.reception!r} is not one "
                                                   f"of {RECEPTIONS}")
        async with self.session_factory.begin() as session:
            returns = ReturnRepository(session)
            changed = await returns.mark_reception(input.rma, input.reception, input.at)
            if not changed and await returns.get(input.rma) is None:
                raise business_failure(UNKNOWN_RETURN, f"no return {input.rma!r}")
        log.info("return.reception_marked", rma=input.rma, reception=input.reception,
                 changed=changed)

    @activity.defn(name="receive_return")
    async def receive_return(self, input: ReceiveReturnInput) -> ReceivedReturn:
        """Books the warehouse's count once: resellable units back into stock (and on to
        waiting backorders), damaged units written off."""
        async with self.session_factory.begin() as session:
            returns = ReturnRepository(session)
            stored = await returns.lock(input.rma)
            if stored is None or stored.order_id != input.order_id:
                raise business_failure(UNKNOWN_RETURN,
                                       f"no return {input.rma!r} of order {input.order_id!r}")
            if stored.inspected:
                # A retry after the first attempt committed: its bookings stand.
                return _outcome(stored)
            counts = _counts(stored, input.lines)
            await returns.record_inspection(input.rma, counts, input.at)
            booked = _counted(stored, counts)
            outcome = _outcome(booked)
            fills = await self._book(session, booked, input.actor)
        log.info("return.received", rma=input.rma, actor=input.actor,
                 restocked=[vars(s) for s in outcome.restocked],
                 written_off=[vars(s) for s in outcome.written_off],
                 backorders_filled=len(fills))
        return outcome

    async def _book(self, session: AsyncSession, stored: Return, actor: str) -> list[Fill]:
        """Restocks and writes off line by line in (SKU, warehouse) order, the order every
        stock transaction locks levels in, so none of them deadlock."""
        stock, backorders = StockRepository(session), BackorderRepository(session)
        fills: list[Fill] = []
        try:
            for line in sorted(stored.lines, key=lambda line: (line.sku, line.warehouse)):
                if line.resellable:
                    level = await stock.receive(
                        line.sku, line.warehouse, line.resellable, stored.rma, actor,
                        reason="return", kind="return", order_id=stored.order_id)
                    # Like a supplier's receipt: the orders that waited longest come first.
                    fills += await backorders.fill(line.sku, line.warehouse, level.salable)
                if line.damaged:
                    await stock.write_off(line.sku, line.warehouse, line.damaged, stored.rma,
                                          actor, reason="damaged in return",
                                          order_id=stored.order_id)
        except InvalidStockChange as error:
            raise business_failure(RETURN_INSPECTION_INVALID,
                                   f"{stored.rma}: {error}") from error
        return fills

    @activity.defn(name="settle_return")
    async def settle_return(self, input: SettleReturnInput) -> None:
        """Closes the return as accepted or rejected with what was refunded for it; settling
        again with the same decision updates the refund, another decision changes nothing."""
        if input.acceptance not in ACCEPTANCES:
            raise business_failure(INVALID_RETURN, f"acceptance: {input.acceptance!r} is not "
                                                   f"one of {ACCEPTANCES}")
        async with self.session_factory.begin() as session:
            returns = ReturnRepository(session)
            stored = await returns.lock(input.rma)
            if stored is None:
                raise business_failure(UNKNOWN_RETURN, f"no return {input.rma!r}")
            if input.refund.currency != stored.currency or input.refund.amount < 0:
                raise business_failure(INVALID_RETURN, f"refund: {input.refund} for a return "
                                                       f"in {stored.currency}")
            settled = await returns.settle(input.rma, input.acceptance, input.rejection_reason,
                                           input.refund.amount, input.at)
        log.info("return.settled", rma=input.rma, acceptance=input.acceptance,
                 rejection_reason=input.rejection_reason, refund=str(input.refund),
                 already_settled=not settled)
