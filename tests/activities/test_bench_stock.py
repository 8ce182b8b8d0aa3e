"""The hot-SKU benchmark on a small scale: both workloads measured, nothing left reserved."""

from __future__ import annotations

import io

from rich.console import Console

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from workers.bench_stock import BENCH_SKU, run_stock_bench


async def test_the_stock_bench_measures_both_workloads_and_releases_everything(db: SessionFactory):
    # Given an empty database and a console that captures the table
    out = io.StringIO()

    # When the benchmark runs 40 reservations of each kind, 4 at a time
    figures = await run_stock_bench(db, Console(file=out, width=160), reservations=40,
                                    concurrency=4)

    # Then it reports the raw UPDATE and reserve_stock, each with 40 latencies
    assert [f.name for f in figures] == ["raw: conditional UPDATE", "fulfil: reserve_stock"]
    assert all(f.count == 40 and len(f.latencies) == 40 and f.seconds > 0 for f in figures)
    assert "reserve_stock runs at" in out.getvalue()
    # ... and leaves the bench SKU with nothing reserved in either warehouse
    async with db() as session:
        levels = await StockRepository(session).levels(BENCH_SKU)
    assert len(levels) == 2
    assert [level.reserved for level in levels] == [0, 0]
