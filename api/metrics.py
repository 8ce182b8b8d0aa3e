"""Business metrics in Prometheus format: orders, refunds, stock alerts and the time from order
to ship, read from PostgreSQL at every scrape rather than counted in one process's memory, so
any number of API and worker processes report one consistent figure that survives restarts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from activities.db.attention_repository import AttentionRepository
from activities.db.engine import SessionFactory
from activities.db.metrics_repository import (
    MetricsRepository,
    RefundTotals,
    ShipTimes,
    StockAlertCounts,
)
from activities.db.repair_repository import RepairRepository
from activities.db.repair_tables import RESET, UNREPAIRABLE
from domain.status import OrderStatus

# From a few seconds (the dev profile ships at once) to a week (a backorder that waited).
SHIP_TIME_BUCKETS: tuple[float, ...] = (
    5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400,
    7 * 86400)
# Terminal statuses never change again, so their order counts only grow: true counters.
ENDED: dict[OrderStatus, tuple[str, str]] = {
    OrderStatus.COMPLETED: ("fulfil_orders_completed", "Orders completed (return window over)."),
    OrderStatus.CANCELLED: ("fulfil_orders_cancelled", "Orders cancelled and unwound."),
    OrderStatus.PAYMENT_FAILED: ("fulfil_payment_failures",
                                 "Orders whose payment was declined or failed."),
    OrderStatus.FAILED: ("fulfil_orders_failed",
                         "Orders that failed (no stock, carrier rejection) and were unwound."),
}


@dataclass(frozen=True)
class BusinessFigures:
    orders_by_status: dict[str, int]
    refunds: list[RefundTotals]
    stock_alerts: StockAlertCounts
    ship_times: ShipTimes
    flagged_for_attention: int = 0  # orders a step of which failed beyond any retry
    needing_attention: int = 0  # of those, the ones with a failure not yet resolved
    # outcome -> workflow runs the repairer found wedged on non-determinism
    repairs: dict[str, int] = field(default_factory=dict)


async def read_business_figures(session_factory: SessionFactory) -> BusinessFigures:
    """Seven aggregate queries on one connection: cheap enough for every scrape."""
    async with session_factory() as session:
        figures, attention = MetricsRepository(session), AttentionRepository(session)
        return BusinessFigures(await figures.orders_by_status(),
                               await figures.refunds_by_currency(),
                               await figures.stock_alerts(),
                               await figures.ship_times(SHIP_TIME_BUCKETS),
                               await attention.count_flagged_orders(),
                               await attention.count_orders_needing_attention(),
                               await RepairRepository(session).count_by_outcome())


class BusinessCollector(Collector):
    """Presents figures already read (prometheus_client collects synchronously, the database
    is read asynchronously before)."""

    def __init__(self, figures: BusinessFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        yield from self._orders()
        yield from self._refunds()
        yield from self._stock_alerts()
        yield self._ship_times()
        yield self._repairs()

    def _orders(self) -> Iterator[Metric]:
        by_status = self.figures.orders_by_status
        yield CounterMetricFamily("fulfil_orders_placed", "Orders placed.",
                                  value=sum(by_status.values()))
        current = GaugeMetricFamily("fulfil_orders", "Orders by their current status.",
                                    labels=["status"])
        for status in OrderStatus:
            current.add_metric([status.value], by_status.get(status.value, 0))
        yield current
        for status, (name, documentation) in ENDED.items():
            yield CounterMetricFamily(name, documentation, value=by_status.get(status.value, 0))
        yield CounterMetricFamily(
            "fulfil_orders_flagged_for_attention",
            "Orders flagged for attention: a step failed in a way no retry can fix.",
            value=self.figures.flagged_for_attention)
        yield GaugeMetricFamily(
            "fulfil_orders_needing_attention",
            "Orders with a failure support has not resolved yet.",
            value=self.figures.needing_attention)

    def _refunds(self) -> Iterator[Metric]:
        count = CounterMetricFamily("fulfil_refunds", "Refunds paid back, by currency.",
                                    labels=["currency"])
        amount = CounterMetricFamily(
            "fulfil_refunded_minor_units",
            "Money refunded, in minor units of the currency (cents for EUR).",
            labels=["currency"])
        for refund in self.figures.refunds:
            count.add_metric([refund.currency], refund.count)
            amount.add_metric([refund.currency], refund.amount)
        yield count
        yield amount

    def _stock_alerts(self) -> Iterator[Metric]:
        alerts = self.figures.stock_alerts
        yield CounterMetricFamily("fulfil_stock_alerts_raised",
                                  "Low-stock alerts raised (a level fell to its reorder point).",
                                  value=alerts.raised)
        yield GaugeMetricFamily("fulfil_stock_alerts_open", "Low-stock alerts not yet resolved.",
                                value=alerts.open)

    def _ship_times(self) -> Metric:
        times = self.figures.ship_times
        buckets = [(_bound(bound), count) for bound, count in zip(times.bounds, times.buckets,
                                                                  strict=True)]
        return HistogramMetricFamily(
            "fulfil_order_to_ship_seconds",
            "Time from placing an order to its first parcel leaving the warehouse.",
            buckets=[*buckets, ("+Inf", times.count)], sum_value=times.total_seconds)


    def _repairs(self) -> Metric:
        repairs = CounterMetricFamily(
            "fulfil_workflow_repairs",
            "Workflow runs found wedged on non-determinism: reset, or unrepairable (a person "
            "must look).", labels=["outcome"])
        for outcome in (RESET, UNREPAIRABLE):
            repairs.add_metric([outcome], self.figures.repairs.get(outcome, 0))
        return repairs


def _bound(seconds: float) -> str:
    return f"{float(seconds):g}"


def render_business_metrics(figures: BusinessFigures) -> bytes:
    """The figures in the Prometheus text format, through a registry of this scrape alone."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BusinessCollector(figures))
    return generate_latest(registry)
