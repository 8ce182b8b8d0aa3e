"""A `fulfil worker` child process, as the end-to-end tests start, kill and stop it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

WORKER_STOP_TIMEOUT_S = 10.0


@dataclass
class WorkerProcess:
    """A `fulfil worker` child process writing its JSON log lines to `log`."""

    process: asyncio.subprocess.Process
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server, as when a machine dies."""
        self.process.kill()

    async def stop(self) -> None:
        if self.process.returncode is not None:
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
