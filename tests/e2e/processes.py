"""`fulfil worker` child processes, as the end-to-end tests start, kill and stop them (the
chaos run's WorkerProcess)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from workers.chaos.processes import WorkerProcess

FULFIL = str(Path(sys.executable).with_name("fulfil"))
WORKER_START_TIMEOUT_S = 30.0


async def start_worker(database_url: str, address: str, task_queue: str, log: Path,
                       payment_latency_ms: str = "5") -> WorkerProcess:
    """`fulfil worker` on `task_queue`, with a fast simulated carrier network and a payment
    network as slow as asked; returns once it polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.update(FULFIL_DATABASE_URL=database_url, FULFIL_TEMPORAL_ADDRESS=address,
               FULFIL_TASK_QUEUE=task_queue, FULFIL_LOG_FORMAT="json",
               FULFIL_PAYMENT_LATENCY_MS=payment_latency_ms, FULFIL_CARRIER_LATENCY_MS="5")
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            FULFIL, "worker", env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT)
    worker = WorkerProcess(process, log)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while '"worker.started"' not in worker.text():
        assert process.returncode is None, f"worker exited:\n{worker.tail()}"
        assert time.monotonic() < deadline, f"worker not started:\n{worker.tail()}"
        await asyncio.sleep(0.1)
    return worker
