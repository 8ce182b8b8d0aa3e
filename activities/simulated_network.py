"""The pretend network the payment, carrier and notification simulators sit behind."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field


@dataclass
class SimulatedNetwork:
    """Each round trip takes about `latency_ms`, and a `failure_rate` share of calls fails
    before the far side sees them, as a transient failure the caller may retry."""

    latency_ms: int
    failure_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    async def round_trip(self, unavailable: type[Exception]) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms * self.rng.uniform(0.5, 1.5) / 1000)
        if self.rng.random() < self.failure_rate:
            raise unavailable("simulated network failure")
