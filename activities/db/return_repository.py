"""Returns (RMAs) and their lines: opened once, labelled, followed on the way back, counted
by the warehouse and settled. Reception (where the parcel is) and acceptance (what we decided)
are separate axes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.aftercare_tables import ReturnLineRow, ReturnRow
from domain.money import Money
from domain.returns import Acceptance, Reception, Resolution

RECEPTIONS = tuple(r.value for r in Reception)
ACCEPTANCES = tuple(a.value for a in Acceptance if a is not Acceptance.PENDING)  # settled as
RESOLUTIONS = tuple(r.value for r in Resolution)


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    unit_price: Money
    warehouse: str  # where resellable units go back into stock
    exchange_sku: str = ""
    resellable: int = 0
    damaged: int = 0


@dataclass(frozen=True)
class Return:
    rma: str
    order_id: str
    reason: str
    comment: str
    resolution: str
    currency: str
    lines: list[ReturnLine]
    reception: str = "awaiting"
    acceptance: str = "pending"
    rejection_reason: str = ""
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    refund_amount: int = 0
    requested_at: datetime | None = None
    received_at: datetime | None = None
    refunded_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def inspected(self) -> bool:
        """Whether the warehouse has counted units of this return (and booked them)."""
        return any(line.resellable or line.damaged for line in self.lines)

    @property
    def refund(self) -> Money:
        return Money(self.refund_amount, self.currency)


def _line(row: ReturnLineRow, currency: str) -> ReturnLine:
    return ReturnLine(row.sku, row.quantity, Money(row.unit_price, currency), row.warehouse,
                      row.exchange_sku, row.resellable, row.damaged)


def _return(row: ReturnRow, lines: list[ReturnLineRow]) -> Return:
    return Return(
        rma=row.rma, order_id=row.order_id, reason=row.reason, comment=row.comment,
        resolution=row.resolution, currency=row.currency,
        lines=[_line(line, row.currency) for line in lines], reception=row.reception,
        acceptance=row.acceptance, rejection_reason=row.rejection_reason, carrier=row.carrier,
        tracking_number=row.tracking_number, label_url=row.label_url,
        refund_amount=row.refund_amount, requested_at=row.requested_at,
        received_at=row.received_at, refunded_at=row.refunded_at, closed_at=row.closed_at)


class ReturnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, *, rma: str, order_id: str, reason: str, comment: str,
                   resolution: str, currency: str, lines: list[ReturnLine],
                   requested_at: datetime) -> Return:
        """Inserts the RMA and its lines once; a repeated RMA finds the stored one."""
        # RETURNING tells whether the row is new: SQLAlchemy 2.1 reports -1 as an INSERT's rowcount.
        inserted = await self.session.scalar(insert(ReturnRow).values(
            rma=rma, order_id=order_id, reason=reason, comment=comment, resolution=resolution,
            reception="awaiting", acceptance="pending", rejection_reason="", carrier="",
            tracking_number="", label_url="", currency=currency, refund_amount=0,
            requested_at=requested_at,
        ).on_conflict_do_nothing().returning(ReturnRow.rma))
        if inserted is not None:
            self.session.add_all(
                ReturnLineRow(rma=rma, sku=line.sku, quantity=line.quantity,
                              unit_price=line.unit_price.amount, warehouse=line.warehouse,
                              resellable=0, damaged=0, exchange_sku=line.exchange_sku)
                for line in lines)
            await self.session.flush()
        stored = await self.get(rma)
        assert stored is not None  # inserted above, or there before
        return stored

    async def attach_label(self, rma: str, carrier: str, tracking_number: str,
                           label_url: str) -> bool:
        """Stores the return label the customer ships with; False when there is no such RMA."""
        found = await self.session.scalar(
            update(ReturnRow).where(ReturnRow.rma == rma)
            .values(carrier=carrier, tracking_number=tracking_number, label_url=label_url)
            .returning(ReturnRow.rma))
        return found is not None

    async def mark_reception(self, rma: str, reception: str, at: datetime) -> bool:
        """Moves where the parcel is; received is final, so a late tracking event cannot undo
        it. False when nothing changed."""
        if reception not in RECEPTIONS:
            raise ValueError(f"unknown reception {reception!r}")
        values: dict[str, object] = {"reception": reception}
        if reception == "received":
            values["received_at"] = func.coalesce(ReturnRow.received_at, at)
        changed = await self.session.scalar(
            update(ReturnRow)
            .where(ReturnRow.rma == rma, ReturnRow.reception != "received")
            .values(values).returning(ReturnRow.rma))
        return changed is not None

    async def record_inspection(self, rma: str, counts: Mapping[str, tuple[int, int]],
                                at: datetime) -> None:
        """Stores the warehouse's count per SKU, (resellable, damaged), and the return as
        received. Lines left out of `counts` came back with nothing in them."""
        for sku, (resellable, damaged) in counts.items():
            await self.session.execute(
                update(ReturnLineRow).where(ReturnLineRow.rma == rma, ReturnLineRow.sku == sku)
                .values(resellable=resellable, damaged=damaged))
        await self.session.execute(
            update(ReturnRow).where(ReturnRow.rma == rma)
            .values(reception="received",
                    received_at=func.coalesce(ReturnRow.received_at, at)))

    async def settle(self, rma: str, acceptance: str, rejection_reason: str,
                     refund_amount: int, at: datetime) -> bool:
        """Closes a pending return as accepted or rejected, with what was refunded for it (the
        refund's time is `at` when anything was refunded). Settling again with the same
        decision updates the refund: an exchange that could not be sent is refunded after
        all. False when the return was settled with the other decision."""
        if acceptance not in ACCEPTANCES:
            raise ValueError(f"unknown acceptance {acceptance!r}")
        refunded_at = func.coalesce(ReturnRow.refunded_at, at) if refund_amount > 0 else None
        settled = await self.session.scalar(
            update(ReturnRow)
            .where(ReturnRow.rma == rma, ReturnRow.acceptance.in_(("pending", acceptance)))
            .values(acceptance=acceptance, rejection_reason=rejection_reason,
                    refund_amount=refund_amount, refunded_at=refunded_at,
                    closed_at=func.coalesce(ReturnRow.closed_at, at))
            .returning(ReturnRow.rma))
        return settled is not None

    async def get(self, rma: str) -> Return | None:
        return await self._load(rma, lock=False)

    async def lock(self, rma: str) -> Return | None:
        """Loads the return and holds its row until the transaction ends, so a retried
        activity waits for the first attempt and then sees what it did."""
        return await self._load(rma, lock=True)

    async def for_order(self, order_id: str) -> list[Return]:
        rows = (await self.session.scalars(
            select(ReturnRow).where(ReturnRow.order_id == order_id)
            .order_by(ReturnRow.requested_at, ReturnRow.rma))).all()
        return [_return(row, await self._lines(row.rma)) for row in rows]

    async def _load(self, rma: str, *, lock: bool) -> Return | None:
        query = select(ReturnRow).where(ReturnRow.rma == rma)
        if lock:
            query = query.with_for_update()
        row = await self.session.scalar(query)
        if row is None:
            return None
        return _return(row, await self._lines(rma))

    async def _lines(self, rma: str) -> list[ReturnLineRow]:
        return list((await self.session.scalars(
            select(ReturnLineRow).where(ReturnLineRow.rma == rma)
            .order_by(ReturnLineRow.sku))).all())
