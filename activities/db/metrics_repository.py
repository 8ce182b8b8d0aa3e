"""The business figures `/metrics` reports, read as a few aggregate queries at scrape time, so
they are right whichever process did the work and survive every restart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Float, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.tables import OrderRow, PaymentRow, ShipmentRow, StockAlertRow


@dataclass(frozen=True)
class RefundTotals:
    currency: str
    count: int
    amount: int  # minor units


@dataclass(frozen=True)
class StockAlertCounts:
    raised: int
    open: int


@dataclass(frozen=True)
class ShipTimes:
    """Seconds from placing an order to its first outbound parcel leaving, as cumulative
    histogram buckets: `buckets[i]` counts the orders shipped within `bounds[i]` seconds."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int
    total_seconds: float


class MetricsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def orders_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(OrderRow.status, func.count()).group_by(OrderRow.status))
        return {status: count for status, count in rows}

    async def refunds_by_currency(self) -> list[RefundTotals]:
        rows = await self.session.execute(
            select(PaymentRow.currency, func.count(), func.coalesce(func.sum(PaymentRow.amount), 0))
            .where(PaymentRow.kind == "refund").group_by(PaymentRow.currency)
            .order_by(PaymentRow.currency))
        return [RefundTotals(currency, count, int(amount)) for currency, count, amount in rows]

    async def stock_alerts(self) -> StockAlertCounts:
        raised, still_open = (await self.session.execute(select(
            func.count(), func.count().filter(StockAlertRow.resolved_at.is_(None))))).one()
        return StockAlertCounts(raised, still_open)

    async def ship_times(self, bounds: Sequence[float]) -> ShipTimes:
        """Orders not shipped yet (no `shipped_at` on a live outbound parcel) are left out;
        neither a cancelled label nor a replacement sent after a loss counts as shipping."""
        first_parcel = (
            select(func.greatest(0.0, cast(func.extract(
                "epoch", func.min(ShipmentRow.shipped_at) - OrderRow.placed_at), Float)
            ).label("seconds"))
            .select_from(ShipmentRow)
            .join(OrderRow, OrderRow.order_id == ShipmentRow.order_id)
            .where(ShipmentRow.shipped_at.is_not(None), ShipmentRow.purpose == "outbound",
                   ShipmentRow.status != "cancelled")
            .group_by(OrderRow.order_id, OrderRow.placed_at)
            .subquery())
        seconds = first_parcel.c.seconds
        row = (await self.session.execute(select(
            func.count(), func.coalesce(func.sum(seconds), 0.0),
            *(func.count().filter(seconds <= bound) for bound in bounds)))).one()
        count, total, *buckets = row
        return ShipTimes(tuple(bounds), tuple(buckets), count, float(total))
