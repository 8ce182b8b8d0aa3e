"""The operations dashboard: orders now and per hour, shipping, returns, stock and
satisfaction, with the charts drawn on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse

from activities.db.attention_repository import AttentionRepository
from activities.db.dashboard_repository import DashboardRepository
from activities.db.repair_repository import RepairRepository
from api.console.charts import Point, bar_chart, line_chart
from api.console.pages import page, words
from api.console.session import Agent, services_of, signed_in
from api.reports import ReportService
from domain.reports import ReturnsReport, ShippingReport

router = APIRouter(prefix="/console/ops", include_in_schema=False)
SignedIn = Annotated[Agent, Depends(signed_in)]
PERIODS = (1, 7, 30, 90)  # the report windows a person may choose, in days
TREND_DAYS = 14


@dataclass(frozen=True)
class ReturnRate:
    units_shipped: int
    units_returned: int
    rate: float | None  # None: nothing shipped in the period


def return_rate(report: ReturnsReport) -> ReturnRate:
    shipped = sum(sku.shipped for sku in report.by_sku)
    returned = sum(sku.returned for sku in report.by_sku)
    return ReturnRate(shipped, returned, returned / shipped if shipped else None)


def shipping_chart(report: ShippingReport) -> str:
    outbound = [g for g in report.shipments if g.purpose == "outbound"]
    return bar_chart("ship-median", "Median hours from order to hand-over, per carrier", [
        Point(f"{g.carrier} ({g.shipping_method})", g.order_to_ship.median_hours)
        for g in outbound], unit=" h")


async def _order_charts(request: Request, now: datetime) -> dict[str, Any]:
    async with services_of(request).orders.session_factory() as session:
        dashboard = DashboardRepository(session)
        by_status = await dashboard.orders_by_status()
        per_hour = await dashboard.orders_per_hour(now)
        backorders = await dashboard.backorders_waiting()
        attention = await AttentionRepository(session).flagged_orders()
        repairs = await RepairRepository(session).recent(limit=20)
    return {
        "by_status": by_status, "per_hour": per_hour, "backorders": backorders,
        "attention": attention, "repairs": repairs,
        "status_chart": Markup(bar_chart("by-status", "Orders by status now", [
            Point(words(status), n) for status, n in by_status.items()])),
        "hour_chart": Markup(bar_chart("per-hour", "Orders placed per hour, last 24 hours (UTC)", [
            Point(h.hour.strftime("%H:00"), h.orders) for h in per_hour])),
    }


async def _satisfaction_trend(reports: ReportService, now: datetime) -> list[Point]:
    """The average rating of the surveys sent on each of the last days."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    points = []
    for back in range(TREND_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        report = await reports.satisfaction(day, day + timedelta(days=1))
        points.append(Point(day.strftime("%d %b"), report.average_rating))
    return points


async def _reports(request: Request, now: datetime, days: int) -> dict[str, Any]:
    reports = ReportService(services_of(request).orders.session_factory)
    since = now - timedelta(days=days)
    shipping = await reports.shipping(since, now)
    returns = await reports.returns(since, now)
    satisfaction = await reports.satisfaction(since, now)
    trend = await _satisfaction_trend(reports, now)
    return {
        "shipping": shipping, "returns": returns, "return_rate": return_rate(returns),
        "satisfaction": satisfaction, "trend": trend,
        "shipping_chart": Markup(shipping_chart(shipping)),
        "reasons_chart": Markup(bar_chart("return-reasons", "Returns by reason", [
            Point(words(r.reason), r.returns) for r in returns.by_reason])),
        "trend_chart": Markup(line_chart(
            "satisfaction-trend", f"Average rating per day, last {TREND_DAYS} days",
            trend, top_value=5)),
    }


@router.get("")
async def dashboard(request: Request, agent: SignedIn,
                    days: Annotated[int, Query(ge=1, le=365)] = 30) -> HTMLResponse:
    """What operations watches: orders, shipping, returns, stock and satisfaction."""
    now = datetime.now(UTC)
    alerts = await services_of(request).stock.alerts()
    return page(request, "ops.html", {
        "agent": agent, "now": now, "days": days, "periods": PERIODS, "alerts": alerts,
        **await _order_charts(request, now), **await _reports(request, now, days)})
