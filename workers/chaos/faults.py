"""The fault injector: SIGKILLs a random worker every few seconds and starts it again,
restarts the Temporal dev server on its database file and PostgreSQL after an immediate
shutdown, at times spread over the fault window."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

import structlog

from workers.chaos.processes import ChaosDatabase, ChaosTemporal, WorkerPool

log = structlog.get_logger(__name__)

DB_OUTAGE_S = 3.0  # how long PostgreSQL stays down after its immediate shutdown
RESPAWN_DELAY_S = (0.2, 1.5)  # a killed worker comes back after this long, like a supervisor


@dataclass(frozen=True)
class FaultPlan:
    kill_every_s: float = 5.0
    server_restarts: int = 1
    db_restarts: int = 1
    window_s: float = 60.0  # faults happen from the start of the run until then

    def schedule(self) -> list[tuple[float, str]]:
        """When each restart happens, seconds from the start: evenly spread, never together."""
        server = [(self.window_s * (i + 1) / (self.server_restarts + 1), "server")
                  for i in range(self.server_restarts)]
        db = [(self.window_s * (i + 0.5) / (self.db_restarts + 1), "db")
              for i in range(self.db_restarts)]
        return sorted(server + db)


@dataclass
class FaultLog:
    kills: int = 0
    server_restarts: int = 0
    db_restarts: int = 0
    respawns: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class FaultInjector:
    plan: FaultPlan
    workers: WorkerPool
    temporal: ChaosTemporal
    database: ChaosDatabase
    rng: random.Random
    record: FaultLog = field(default_factory=FaultLog)

    async def run(self, done: asyncio.Event) -> FaultLog:
        """Injects faults until the window closes or `done` is set; every worker is alive
        again when it returns."""
        started = time.monotonic()
        restarts = self.plan.schedule()
        next_kill = self.plan.kill_every_s
        while not done.is_set():
            elapsed = time.monotonic() - started
            if elapsed >= self.plan.window_s and not restarts:
                break
            if restarts and elapsed >= restarts[0][0]:
                await self._restart(restarts.pop(0)[1], elapsed)
            elif elapsed >= next_kill and elapsed < self.plan.window_s:
                await self._kill(elapsed)
                next_kill += self.plan.kill_every_s
            self.record.respawns += await self.workers.revive()
            await _wait(done, 0.2)
        self.record.respawns += await self.workers.revive()
        return self.record

    async def _kill(self, at: float) -> None:
        pid = await self.workers.kill_one(self.rng)
        if not pid:
            return
        self.record.kills += 1
        self.record.events.append((at, f"SIGKILL worker {pid}"))
        log.info("chaos.worker_killed", pid=pid)
        await asyncio.sleep(self.rng.uniform(*RESPAWN_DELAY_S))

    async def _restart(self, what: str, at: float) -> None:
        try:
            if what == "server":
                await self.temporal.restart()
                self.record.server_restarts += 1
                self.record.events.append((at, "Temporal dev server restarted"))
            else:
                await asyncio.to_thread(self.database.crash)
                await asyncio.sleep(DB_OUTAGE_S)
                await asyncio.to_thread(self.database.restart)
                self.record.db_restarts += 1
                self.record.events.append((at, "PostgreSQL immediate shutdown and restart"))
            log.info("chaos.restarted", what=what)
        except Exception as error:  # noqa: BLE001 - the report shows a fault that failed
            self.record.errors.append(f"{what} restart failed: {error}")
            log.error("chaos.restart_failed", what=what, error=str(error))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
