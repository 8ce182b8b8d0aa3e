"""What the operations dashboard counts straight from the tables: orders by status, orders
placed per hour, and the backorders still waiting for stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.tables import BackorderRow, OrderRow


@dataclass(frozen=True)
class HourCount:
    hour: datetime  # the start of the hour, UTC
    orders: int


@dataclass(frozen=True)
class WaitingBackorder:
    """Units of one SKU that orders are still waiting for."""

    sku: str
    orders: int
    units: int
    oldest_since: datetime
    next_deadline: datetime


def hour_start(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def orders_by_status(self) -> dict[str, int]:
        """How many orders are in each status right now, largest first."""
        count = func.count().label("n")
        rows = await self.session.execute(
            select(OrderRow.status, count).group_by(OrderRow.status)
            .order_by(count.desc(), OrderRow.status))
        return {status: n for status, n in rows}

    async def orders_per_hour(self, until: datetime, hours: int = 24) -> list[HourCount]:
        """Orders placed in each of the `hours` hours up to the one holding `until`, oldest
        first; hours without orders count zero."""
        last = hour_start(until)
        first = last - timedelta(hours=hours - 1)
        bucket = func.date_trunc("hour", func.timezone("UTC", OrderRow.placed_at))
        rows = await self.session.execute(
            select(bucket, func.count()).where(OrderRow.placed_at >= first,
                                               OrderRow.placed_at < last + timedelta(hours=1))
            .group_by(bucket))
        counted = {naive.replace(tzinfo=first.tzinfo): n for naive, n in rows}
        return [HourCount(hour, counted.get(hour, 0))
                for hour in (first + timedelta(hours=n) for n in range(hours))]

    async def backorders_waiting(self) -> list[WaitingBackorder]:
        """The SKUs orders wait for, the most wanted first."""
        units = func.sum(BackorderRow.quantity - BackorderRow.filled)
        rows = await self.session.execute(
            select(BackorderRow.sku, func.count(func.distinct(BackorderRow.order_id)), units,
                   func.min(BackorderRow.created_at), func.min(BackorderRow.deadline_at))
            .where(BackorderRow.status == "waiting")
            .group_by(BackorderRow.sku).order_by(units.desc(), BackorderRow.sku))
        return [WaitingBackorder(sku, orders, int(waiting), oldest, deadline)
                for sku, orders, waiting, oldest, deadline in rows]
