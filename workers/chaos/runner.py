"""Runs a chaos run end to end: its own PostgreSQL, dev server and workers, the orders and
the faults at once, then the checks over what is left."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import func, select
from temporalio.client import Client

from activities.db.engine import SessionFactory, build_engine, build_session_factory
from activities.db.migrate import upgrade
from activities.db.outbox_tables import OutboxRow
from activities.db.repair_repository import RepairRecord, RepairRepository
from activities.payments.simulator import SimulatedGateway
from api.catalogue import parse_seed, seed_catalogue
from api.orders import OrderService
from workers.chaos.checks import CheckResult, check_orders, check_repairs, check_stock
from workers.chaos.evidence import OrderEvidence, gather_order, gather_stock, order_replayer
from workers.chaos.faults import FaultInjector, FaultPlan
from workers.chaos.play import Deadline, OrderPlayer, Outcome, persist
from workers.chaos.processes import ChaosDatabase, ChaosTemporal, WorkerPool, worker_env
from workers.chaos.report import ChaosReport
from workers.chaos.scenarios import FAST, PlannedOrder, catalogue, hot_stock, plan_orders
from workers.logging import temporal_runtime

log = structlog.get_logger(__name__)

OUTBOX_DRAIN_S = 60.0
EVIDENCE_CONCURRENCY = 8
# Reading one order's evidence (history, replay, rows) takes well under a second on a calm
# stack; a loaded one gets this much more per order before an order counts as unread.
EVIDENCE_S_PER_ORDER = 0.5


@dataclass(frozen=True)
class ChaosOptions:
    orders: int = 60
    workers: int = 2
    kill_every_s: float = 5.0
    server_restarts: int = 1
    db_restarts: int = 1
    seed: int = 1
    place_over_s: float = 20.0  # order starts are spread evenly over this long
    fault_window_s: float = 45.0  # faults are injected from the start until then
    settle_s: float = 150.0  # after the last placement, how long the orders have to end
    data_dir: Path | None = None  # where the stack keeps its data; a temporary folder if unset


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    """Starts the stack, plays and disturbs the orders, checks them; stops everything."""
    run = time.strftime("%H%M%S", time.gmtime())
    rng = random.Random(options.seed)
    planned = plan_orders(options.orders, rng, run)
    with tempfile.TemporaryDirectory(prefix="fulfil-chaos-") as scratch:
        root = options.data_dir or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        async with AsyncExitStack() as stack:
            database = await asyncio.to_thread(ChaosDatabase.start, root / "data")
            stack.callback(database.stop)
            await asyncio.to_thread(upgrade, database.url)
            engine = build_engine(database.url)
            stack.push_async_callback(engine.dispose)
            db = build_session_factory(engine)
            await seed_catalogue(db, parse_seed(catalogue(planned)))
            temporal = ChaosTemporal(root / "temporal")
            await temporal.start()
            stack.callback(temporal.stop)
            workers = WorkerPool(worker_env(database.url, temporal.address, f"chaos-{run}"),
                                 root, size=options.workers)
            await workers.start()
            stack.push_async_callback(workers.stop)
            # Core's warnings through the log pipeline (stderr): stdout is the report.
            client = await Client.connect(temporal.address, runtime=temporal_runtime())
            faults = FaultInjector(FaultPlan(options.kill_every_s, options.server_restarts,
                                             options.db_restarts, options.fault_window_s),
                                   workers, temporal, database, rng)
            started = time.monotonic()
            outcomes = await _play_under_faults(options, planned, faults,
                                                OrderService(client, db, f"chaos-{run}", FAST))
            await _wait_for_outbox(db, Deadline(time.monotonic() + OUTBOX_DRAIN_S))
            deadline = Deadline(time.monotonic() + OUTBOX_DRAIN_S
                                + EVIDENCE_S_PER_ORDER * len(outcomes))
            evidence, unread = await _gather(db, client, outcomes, deadline)
            stock = await persist(lambda: gather_stock(db), deadline, "stock")
            repairs = await persist(lambda: gather_repairs(db), deadline, "repairs")
            results = [unread, *check_orders(evidence),
                       check_stock(stock, evidence, sum(hot_stock(planned).values())),
                       check_repairs(repairs)]
            return ChaosReport(run, time.monotonic() - started, outcomes, faults.record, results,
                               repairs)
    raise AssertionError("unreachable")  # pragma: no cover - the block above returns


async def _play_under_faults(options: ChaosOptions, planned: list[PlannedOrder],
                             faults: FaultInjector, orders: OrderService) -> list[Outcome]:
    player, done = OrderPlayer(orders), asyncio.Event()
    deadline = Deadline(time.monotonic() + options.place_over_s + options.settle_s)
    gap = options.place_over_s / max(1, len(planned))

    async def play(index: int, order: PlannedOrder) -> Outcome:
        await asyncio.sleep(index * gap)
        return await player.play(order, deadline)

    injector = asyncio.create_task(faults.run(done))
    try:
        outcomes = await asyncio.gather(*(play(i, o) for i, o in enumerate(planned)))
    finally:
        done.set()
        await injector
    return list(outcomes)


async def gather_repairs(db: SessionFactory) -> list[RepairRecord]:
    async with db() as session:
        return await RepairRepository(session).recent(limit=1000)


async def _wait_for_outbox(db: SessionFactory, deadline: Deadline) -> None:
    """The workers' relays send what the last events queued; the checks count it after."""
    o = OutboxRow

    async def pending() -> int:
        async with db() as session:
            return int(await session.scalar(
                select(func.count()).select_from(o).where(o.status == "pending")) or 0)

    for _ in range(int(OUTBOX_DRAIN_S / 0.5)):  # polling: the relays live in other processes
        if not await persist(pending, deadline, "outbox"):
            return
        await asyncio.sleep(0.5)


async def _gather(db: SessionFactory, client: Client, outcomes: list[Outcome],
                  deadline: Deadline) -> tuple[list[OrderEvidence], CheckResult]:
    """The evidence of every order that could be read by the deadline, and a check naming
    each that could not: one unreadable order must not cost the report of the others."""
    gateway, gate = SimulatedGateway(db, latency_ms=0), asyncio.Semaphore(EVIDENCE_CONCURRENCY)
    replayer = order_replayer()
    unread = CheckResult("evidence read", len(outcomes))

    async def one(outcome: Outcome) -> OrderEvidence | None:
        async with gate:
            try:
                return await persist(
                    lambda: gather_order(db, gateway, client, replayer, outcome),
                    deadline, "evidence")
            except TimeoutError as error:
                unread.failures.append((outcome.planned.order_id, str(error)))
                return None

    gathered = await asyncio.gather(*(one(o) for o in outcomes))
    return [e for e in gathered if e is not None], unread
