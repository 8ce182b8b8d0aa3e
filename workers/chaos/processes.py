"""The processes a chaos run starts, kills and restarts: its own embedded PostgreSQL, a
Temporal dev server on one database file, and `fulfil worker` processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workers.stack import (
    DevServer,
    EmbeddedPostgres,
    die_with_parent,
    find_free_port,
    start_embedded_postgres,
    start_temporal_dev_server,
)

WORKER_STOP_TIMEOUT_S = 10.0
PG_CTL_TIMEOUT_S = 60


class ChaosDatabase:
    """An embedded PostgreSQL of the run's own, so an immediate shutdown disturbs nobody else."""

    def __init__(self, postgres: EmbeddedPostgres) -> None:
        self.postgres = postgres

    @classmethod
    def start(cls, data_dir: Path) -> ChaosDatabase:
        """Blocking: initdb takes a few seconds."""
        return cls(start_embedded_postgres(data_dir))

    @property
    def url(self) -> str:
        return self.postgres.url

    def crash(self) -> None:
        """Immediate shutdown: like a power cut, the server recovers from its WAL on restart."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self.postgres._server
        pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)

    def restart(self) -> None:
        """Starts the crashed server again on the same data and socket, as an operator would."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # type: ignore[attr-defined]

        server = self.postgres._server
        socket_dir = server.get_postmaster_info().socket_dir
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-w",
                   "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.pgdata / "log"),
                   "start"]
        if server.system_user:
            command = ["runuser", "-u", server.system_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=PG_CTL_TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not restart: {result.stdout}{result.stderr}")

    def stop(self) -> None:
        # embedded_postgres stops only the postmaster it started itself: one started again
        # after a crash is stopped here, or it would outlive the run.
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self.postgres._server
        if (server.pgdata / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(["-m", "fast", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)
        self.postgres.stop()


class ChaosTemporal:
    """A Temporal dev server that can be stopped and started again on its database file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port, self.ui_port = find_free_port(), find_free_port()
        self.server: DevServer | None = None
        self.restarts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await start_temporal_dev_server(self.data_dir, port=self.port,
                                                      ui_port=self.ui_port)

    async def restart(self) -> None:
        """SIGTERM, then the same command on the same `temporal.db`."""
        self.stop()
        self.restarts += 1
        log = self.data_dir / "temporal.log"
        if log.exists():  # the new server writes a fresh one
            log.rename(self.data_dir / f"temporal-{self.restarts}.log")
        await self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class WorkerProcess:
    """A `fulfil worker` child process writing its JSON log lines to `log`."""

    process: asyncio.subprocess.Process
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server, as when a machine dies."""
        if self.alive:
            self.process.kill()

    async def stop(self) -> None:
        if not self.alive:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), WORKER_STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.text().splitlines()[-lines:])


@dataclass
class WorkerPool:
    """`size` workers on one task queue; a dead or killed one is started again by `revive`."""

    env: dict[str, str]
    log_dir: Path
    size: int = 2
    workers: list[WorkerProcess] = field(default_factory=list)
    started: int = 0

    async def start(self) -> None:
        self.workers = [await self._spawn() for _ in range(self.size)]

    async def kill_one(self, rng: random.Random) -> int:
        """SIGKILLs a random live worker; returns its pid (0 when none was alive)."""
        alive = [w for w in self.workers if w.alive]
        if not alive:
            return 0
        victim = rng.choice(alive)
        victim.kill()
        await victim.process.wait()
        return victim.process.pid

    async def revive(self) -> int:
        """Starts a new worker in place of each one that has exited; returns how many."""
        revived = 0
        for index, worker in enumerate(self.workers):
            if not worker.alive:
                self.workers[index] = await self._spawn()
                revived += 1
        return revived

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))

    async def _spawn(self) -> WorkerProcess:
        self.started += 1
        log = self.log_dir / f"worker-{self.started}.log"
        # A worker dies with the run (parent-death signal), even when the run is SIGKILLed.
        process = await asyncio.create_subprocess_exec(
            fulfil_cli(), "worker", env=self.env, stdin=subprocess.DEVNULL,
            stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=die_with_parent())
        return WorkerProcess(process, log)


def fulfil_cli() -> str:
    """The `fulfil` entry point installed beside this Python."""
    return str(Path(sys.executable).with_name("fulfil"))


def worker_env(database_url: str, temporal_address: str, task_queue: str) -> dict[str, str]:
    """The environment of a chaos worker: this run's stack, fast simulated networks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.update(FULFIL_DATABASE_URL=database_url, FULFIL_TEMPORAL_ADDRESS=temporal_address,
               FULFIL_TASK_QUEUE=task_queue, FULFIL_LOG_FORMAT="json", FULFIL_PROFILE="dev",
               FULFIL_PAYMENT_LATENCY_MS="5", FULFIL_CARRIER_LATENCY_MS="5",
               FULFIL_NOTIFY_LATENCY_MS="5",
               # Line by line: a SIGKILLed worker's last words are what the log is for.
               PYTHONUNBUFFERED="1")
    return env
