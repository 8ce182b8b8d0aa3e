"""`fulfil bench`: orders through the full workflow against a no-op baseline, same run."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from activities.db.tables import OrderEventRow
from api.catalogue import parse_seed, seed_catalogue
from api.orders import OrderService
from workers.runtime import Services
from workflows.baseline import BaselineInput, BaselineWorkflow

BENCH_SKU = "BENCH-WIDGET"
# What an order runs on its way to SHIPPED: authorize, reserve, capture, create_shipment and
# ship_stock as activities; record_order and nine timeline writes as local activities.
ORDER_ACTIVITIES, ORDER_LOCAL_ACTIVITIES = 5, 10
BENCH_CATALOGUE = {
    "warehouses": [{"code": "BER", "name": "Berlin", "country": "DE", "priority": 1},
                   {"code": "HAM", "name": "Hamburg", "country": "DE", "priority": 2}],
    "products": [{"sku": BENCH_SKU, "name": "Benchmark widget", "price": "1.00",
                  "currency": "EUR"}],
    "stock": [{"sku": BENCH_SKU, "warehouse": "BER", "on_hand": 1_000_000_000}],
}


@dataclass(frozen=True)
class Figures:
    name: str
    count: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _bounded(count: int, concurrency: int, one: Callable[[int], Awaitable[float]]
                   ) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def run(n: int) -> float:
        async with gate:
            return await one(n)

    return await asyncio.gather(*(run(n) for n in range(count)))


async def _baseline(services: Services, count: int, concurrency: int) -> Figures:
    async def one(n: int) -> float:
        started = time.monotonic()
        await services.client.execute_workflow(
            BaselineWorkflow.run, BaselineInput(ORDER_ACTIVITIES, ORDER_LOCAL_ACTIVITIES),
            id=f"bench-baseline-{uuid.uuid4()}", task_queue=services.settings.task_queue)
        return time.monotonic() - started

    started = time.monotonic()
    latencies = await _bounded(count, concurrency, one)
    return Figures("baseline: no-op workflow", count, time.monotonic() - started, latencies)


async def _orders(services: Services, count: int, concurrency: int) -> Figures:
    # The warehouse confirms at once and the carrier moves on every poll: the figure is
    # the engine's cost, not simulated waiting.
    timings = replace(services.settings.timings, warehouse_autoconfirm_s=0, tracking_poll_s=0,
                      return_window_s=0, survey_after_s=0, survey_open_s=0)
    orders = OrderService(services.client, services.session_factory,
                          services.settings.task_queue, timings)
    run = uuid.uuid4().hex[:8]

    async def one(n: int) -> float:
        order_id = f"BENCH-{run}-{n:05d}"
        started = time.time()
        placed = await orders.place(_checkout(order_id))
        await placed.handle.result()
        return await _seconds_to_shipped(services, order_id, started)

    started = time.monotonic()
    latencies = await _bounded(count, concurrency, one)
    return Figures("fulfil: place -> SHIPPED", count, time.monotonic() - started, latencies)


async def _seconds_to_shipped(services: Services, order_id: str, placed_at: float) -> float:
    async with services.session_factory() as session:
        shipped = await session.scalar(select(OrderEventRow.at).where(
            OrderEventRow.order_id == order_id, OrderEventRow.kind == "shipment.handed_over"))
    if shipped is None:
        raise RuntimeError(f"benchmark order {order_id} never shipped")
    return shipped.timestamp() - placed_at


def _checkout(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "customer": {"id": "cus_bench", "email": "bench@example.com", "name": "Bench"},
        "currency": "EUR", "lines": [{"sku": BENCH_SKU, "quantity": 1}],
        "shipping": {"method": "standard",
                     "address": {"name": "Bench", "line1": "Street 1", "city": "Berlin",
                                 "postal_code": "10117", "country": "DE"}},
        "payment": {"method": "card", "token": "tok_visa"},
    }


async def run_bench(services: Services, console: Console, *, orders: int,
                    concurrency: int) -> list[Figures]:
    await seed_catalogue(services.session_factory, parse_seed(BENCH_CATALOGUE))
    await _baseline(services, min(orders, 20), concurrency)  # warm-up
    figures = [await _baseline(services, orders, concurrency),
               await _orders(services, orders, concurrency)]
    table = Table("workload", "n", "wall s", "per s", "p50 s", "p95 s", "p99 s", "mean s",
                  title=f"fulfil bench: {orders} each, {concurrency} in flight")
    for f in figures:
        table.add_row(f.name, str(f.count), f"{f.seconds:.2f}", f"{f.throughput:.1f}",
                      f"{f.percentile(50):.3f}", f"{f.percentile(95):.3f}",
                      f"{f.percentile(99):.3f}", f"{statistics.fmean(f.latencies):.3f}")
    console.print(table)
    return figures
