"""The facts the reports are computed from: parcels, orders, returns and surveys of a period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.aftercare_tables import CarrierClaimRow, ReturnLineRow, ReturnRow, SurveyRow
from activities.db.tables import OrderLineRow, OrderRow, ShipmentRow
from domain.money import Money
from domain.reports import (
    OrderSlaFact,
    Period,
    ReturnedUnits,
    ReturnFact,
    ShipmentFact,
    ShippedLine,
    SurveyFact,
)


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def parcels_shipped(self, period: Period) -> list[ShipmentFact]:
        """Every parcel handed to a carrier in the period, with its order and any claim."""
        rows = await self.session.execute(
            select(ShipmentRow.carrier, OrderRow.shipping_method, ShipmentRow.purpose,
                   OrderRow.placed_at, ShipmentRow.shipped_at, ShipmentRow.delivered_at,
                   ShipmentRow.exception, ShipmentRow.exception_count,
                   CarrierClaimRow.amount, CarrierClaimRow.currency)
            .join(OrderRow, OrderRow.order_id == ShipmentRow.order_id)
            .outerjoin(CarrierClaimRow,
                       CarrierClaimRow.tracking_number == ShipmentRow.tracking_number)
            .where(ShipmentRow.shipped_at >= period.since, ShipmentRow.shipped_at < period.until)
            .order_by(ShipmentRow.id))
        return [_parcel(row) for row in rows]

    async def orders_placed(self, period: Period) -> list[OrderSlaFact]:
        """The SLA flags of every order placed in the period."""
        rows = await self.session.execute(
            select(OrderRow.carrier, OrderRow.shipping_method, OrderRow.ship_sla_breached,
                   OrderRow.delivery_sla_breached)
            .where(OrderRow.placed_at >= period.since, OrderRow.placed_at < period.until)
            .order_by(OrderRow.order_id))
        return [OrderSlaFact(*row) for row in rows]

    async def lines_shipped(self, period: Period) -> list[ShippedLine]:
        """The lines of every order with a parcel handed to a carrier in the period."""
        shipped = exists().where(ShipmentRow.order_id == OrderLineRow.order_id,
                                 ShipmentRow.shipped_at >= period.since,
                                 ShipmentRow.shipped_at < period.until)
        rows = await self.session.execute(
            select(OrderLineRow.order_id, OrderLineRow.sku, OrderLineRow.quantity)
            .where(shipped).order_by(OrderLineRow.order_id, OrderLineRow.line_no))
        return [ShippedLine(*row) for row in rows]

    async def returns_requested(self, period: Period) -> list[ReturnFact]:
        """Every return requested in the period, with its lines."""
        returns = (await self.session.scalars(
            select(ReturnRow)
            .where(ReturnRow.requested_at >= period.since, ReturnRow.requested_at < period.until)
            .order_by(ReturnRow.requested_at, ReturnRow.rma))).all()
        lines: dict[str, list[ReturnedUnits]] = defaultdict(list)
        if returns:
            for rma, sku, quantity in await self.session.execute(
                    select(ReturnLineRow.rma, ReturnLineRow.sku, ReturnLineRow.quantity)
                    .where(ReturnLineRow.rma.in_([r.rma for r in returns]))
                    .order_by(ReturnLineRow.rma, ReturnLineRow.sku)):
                lines[rma].append(ReturnedUnits(sku, quantity))
        return [ReturnFact(r.rma, r.order_id, r.reason, r.resolution, r.acceptance,
                           Money(r.refund_amount, r.currency), r.requested_at, r.refunded_at,
                           tuple(lines[r.rma]))
                for r in returns]

    async def surveys_sent(self, period: Period) -> list[SurveyFact]:
        """Every survey sent in the period, with whether its order was returned or late."""
        returned = exists().where(ReturnRow.order_id == SurveyRow.order_id)
        late = func.coalesce(or_(OrderRow.ship_sla_breached, OrderRow.delivery_sla_breached),
                             False)
        rows = await self.session.execute(
            select(SurveyRow.order_id, SurveyRow.status, SurveyRow.sent_at, SurveyRow.rating,
                   SurveyRow.comment, SurveyRow.answered_at, returned, late)
            .outerjoin(OrderRow, OrderRow.order_id == SurveyRow.order_id)
            .where(SurveyRow.sent_at >= period.since, SurveyRow.sent_at < period.until)
            .order_by(SurveyRow.sent_at, SurveyRow.order_id))
        return [SurveyFact(*row) for row in rows]


def _parcel(row: Sequence[Any]) -> ShipmentFact:
    (carrier, method, purpose, placed_at, shipped_at, delivered_at, exception, exception_count,
     claimed, currency) = row
    assert shipped_at is not None  # the query selects shipped parcels only
    claim = None if claimed is None or currency is None else Money(claimed, currency)
    return ShipmentFact(carrier, method, purpose, placed_at, shipped_at, delivered_at, exception,
                        exception_count, claim)
