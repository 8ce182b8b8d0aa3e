"""`fulfil bench-stock`: hot-SKU reservations per second through `reserve_stock`, measured
against the raw conditional-UPDATE rate of the same PostgreSQL in the same run.

Every reservation of one SKU locks its stock levels, so a hot SKU serializes on the database.
The baseline is the least a reservation can cost there: one `UPDATE … WHERE salable >= 1` per
transaction on the same row. The difference is what fulfil adds: the allocation plan, the
reservation and its line, the movement and the low-stock check.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.db.catalogue_repository import CatalogueRepository, EmptyCatalogue
from activities.db.engine import SessionFactory
from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
from api.catalogue import parse_seed, seed_catalogue
from workers.bench import Figures, _bounded

BENCH_SKU = "BENCH-HOT"
# Warehouses of its own, so the bench never touches a real warehouse's settings; the first
# by priority is where every one-unit reservation lands, in both workloads.
HOT_WAREHOUSE, OTHER_WAREHOUSE = "BENCH-HOT-1", "BENCH-HOT-2"
AMPLE = 1_000_000_000

# The yardstick: the cheapest correct reservation, a conditional UPDATE that cannot oversell.
RAW_RESERVE = text("UPDATE stock_levels SET reserved = reserved + 1 "
                   "WHERE sku = :sku AND warehouse = :warehouse AND on_hand - reserved >= 1")
RAW_UNRESERVE = text("UPDATE stock_levels SET reserved = reserved - :n "
                     "WHERE sku = :sku AND warehouse = :warehouse")


def bench_catalogue(currency: str) -> dict[str, Any]:
    """The bench SKU with ample stock in two warehouses, and a shipping method of its own
    (a seed without one would reset the catalogue's default methods)."""
    return {
        "warehouses": [{"code": HOT_WAREHOUSE, "name": "Bench hot", "country": "DE", "priority": 1},
                       {"code": OTHER_WAREHOUSE, "name": "Bench other", "country": "DE",
                        "priority": 2}],
        "products": [{"sku": BENCH_SKU, "name": "Benchmark hot SKU", "price": "1.00",
                      "currency": currency}],
        "shipping_methods": [{"code": "bench", "carrier": "sim-standard", "price": "0.00",
                              "currency": currency, "transit_days": 1}],
        "stock": [{"sku": BENCH_SKU, "warehouse": w, "on_hand": AMPLE}
                  for w in (HOT_WAREHOUSE, OTHER_WAREHOUSE)],
    }


async def _catalogue_currency(session_factory: SessionFactory) -> str:
    """One catalogue holds one currency: the bench product must not add a second."""
    async with session_factory() as session:
        try:
            return (await CatalogueRepository(session).load()).currency
        except EmptyCatalogue:
            return "EUR"


async def _raw_updates(engine: AsyncEngine, count: int, concurrency: int) -> Figures:
    done = 0

    async def one(n: int) -> float:
        nonlocal done
        started = time.perf_counter()
        async with engine.begin() as connection:
            result = await connection.execute(
                RAW_RESERVE, {"sku": BENCH_SKU, "warehouse": HOT_WAREHOUSE})
        elapsed = time.perf_counter() - started
        if result.rowcount != 1:
            raise RuntimeError(f"raw reservation {n} found no salable {BENCH_SKU}")
        done += 1
        return elapsed

    started = time.perf_counter()
    try:
        latencies = await _bounded(count, concurrency, one)
    finally:
        async with engine.begin() as connection:
            await connection.execute(RAW_UNRESERVE, {"n": done, "sku": BENCH_SKU,
                                                     "warehouse": HOT_WAREHOUSE})
    return Figures("raw: conditional UPDATE", count, time.perf_counter() - started, latencies)


async def _reservations(session_factory: SessionFactory, count: int,
                        concurrency: int) -> Figures:
    stock, env, run = StockActivities(session_factory), ActivityEnvironment(), uuid.uuid4().hex[:8]
    reserved: list[SettleInput] = []

    async def one(n: int) -> float:
        order_id, key = f"BENCH-STOCK-{run}-{n:06d}", f"bench-stock-{run}-{n:06d}"
        started = time.perf_counter()
        await env.run(stock.reserve_stock, ReserveInput(order_id, key, [StockLine(BENCH_SKU, 1)]))
        elapsed = time.perf_counter() - started
        reserved.append(SettleInput(order_id, key))
        return elapsed

    async def release(n: int) -> float:
        await env.run(stock.release_stock, reserved[n])
        return 0.0

    started = time.perf_counter()
    try:
        latencies = await _bounded(count, concurrency, one)
        seconds = time.perf_counter() - started
    finally:
        await _bounded(len(reserved), concurrency, release)
    return Figures("fulfil: reserve_stock", count, seconds, latencies)


def _print(console: Console, figures: list[Figures], reservations: int, concurrency: int) -> None:
    raw, fulfil = figures
    ratio = fulfil.throughput / raw.throughput
    table = Table("workload", "n", "seconds", "per second", "p50 ms", "p95 ms", "p99 ms",
                  "vs raw",
                  title=f"fulfil bench-stock: {reservations} one-unit reservations of one SKU, "
                        f"{concurrency} in flight",
                  caption=f"reserve_stock runs at {ratio:.0%} of the raw conditional-UPDATE "
                          f"rate ({raw.throughput / fulfil.throughput:.1f}x slower)")
    for f in figures:
        table.add_row(f.name, str(f.count), f"{f.seconds:.2f}", f"{f.throughput:.0f}",
                      *(f"{1000 * f.percentile(p):.1f}" for p in (50, 95, 99)),
                      f"{f.throughput / raw.throughput:.2f}x")
    console.print(table)


async def run_stock_bench(session_factory: SessionFactory, console: Console,
                          reservations: int = 2000, concurrency: int = 20) -> list[Figures]:
    """Raw conditional UPDATEs, then `reserve_stock` calls, on one hot SKU with the same
    engine and concurrency; everything reserved is released again. Answers [raw, fulfil]."""
    currency = await _catalogue_currency(session_factory)
    await seed_catalogue(session_factory, parse_seed(bench_catalogue(currency)))
    engine: AsyncEngine = session_factory.kw["bind"]
    await _raw_updates(engine, min(reservations, 50), concurrency)  # warm-up: opens the pool
    figures = [await _raw_updates(engine, reservations, concurrency),
               await _reservations(session_factory, reservations, concurrency)]
    _print(console, figures, reservations, concurrency)
    return figures
