"""Keeps every running activity heartbeating, so the server notices within the heartbeat
timeout, not the start-to-close timeout, that the worker running it has died."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

# The SDK throttles what it sends to the server to 0.8 x the activity's heartbeat timeout,
# so beating more often than that costs nothing on the wire.
HEARTBEAT_EVERY_S = 1.0


async def _beat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_S)


class _HeartbeatWhileRunning(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # Local activities run inside a workflow task and cannot heartbeat.
        if activity.info().is_local:
            return await super().execute_activity(input)
        # The task copies this context, so activity.heartbeat() finds the running activity.
        # An activity waiting on a network call or a row lock keeps beating; one whose
        # worker is gone stops, and the server retries it elsewhere. Heartbeats are also how
        # a cancellation reaches a running activity.
        beating = asyncio.create_task(_beat())
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()


class HeartbeatInterceptor(Interceptor):
    """Heartbeats each (non-local) activity about once a second while it runs."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HeartbeatWhileRunning(next)
