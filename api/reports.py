"""The shipping, returns and satisfaction reports, for the CLI and the ops dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import structlog

from activities.db.engine import SessionFactory
from activities.db.report_repository import ReportRepository
from domain.reports import (
    InvalidReportPeriod,
    Period,
    ReturnsReport,
    SatisfactionReport,
    ShippingReport,
    returns_report,
    satisfaction_report,
    shipping_report,
)
from domain.times import parse_utc

log = structlog.get_logger(__name__)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO date or date-time in UTC: one without a zone is UTC, one with is converted."""
    try:
        return parse_utc(text)
    except ValueError:
        raise InvalidReportPeriod(f"{option}: not an ISO date or date-time {text!r}") from None


class ReportService:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[ReportRepository]:
        # One REPEATABLE READ transaction per report: its queries all see the same moment,
        # so a return written between two of them cannot make the figures disagree.
        async with self.session_factory() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield ReportRepository(session)

    async def shipping(self, since: datetime, until: datetime) -> ShippingReport:
        period = Period(since, until)
        async with self._snapshot() as reports:
            parcels = await reports.parcels_shipped(period)
            orders = await reports.orders_placed(period)
        log.info("report.shipping", since=since.isoformat(), until=until.isoformat(),
                 parcels=len(parcels), orders=len(orders))
        return shipping_report(period, parcels, orders)

    async def returns(self, since: datetime, until: datetime) -> ReturnsReport:
        period = Period(since, until)
        async with self._snapshot() as reports:
            shipped = await reports.lines_shipped(period)
            returns = await reports.returns_requested(period)
        log.info("report.returns", since=since.isoformat(), until=until.isoformat(),
                 returns=len(returns))
        return returns_report(period, shipped, returns)

    async def satisfaction(self, since: datetime, until: datetime) -> SatisfactionReport:
        period = Period(since, until)
        async with self._snapshot() as reports:
            surveys = await reports.surveys_sent(period)
        log.info("report.satisfaction", since=since.isoformat(), until=until.isoformat(),
                 surveys=len(surveys))
        return satisfaction_report(period, surveys)
