"""How OrderWorkflow runs its activities: timeouts and retry policies as named constants, and
the one place a failed business step turns into the order's end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import PAYMENT_DECLINED
    from domain.status import OrderStatus

STEP_TIMEOUT = timedelta(seconds=30)
RECORD_TIMEOUT = timedelta(seconds=10)
# Every (non-local) activity heartbeats about once a second (workers/heartbeats.py), so one
# lost with its worker is retried a few seconds later, not after STEP_TIMEOUT.
HEARTBEAT_TIMEOUT = timedelta(seconds=5)
# Business steps: transient failures are retried with backoff; a step that keeps failing
# for about ten minutes fails the order, which is then compensated.
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=2), maximum_attempts=10)
# Compensation and bookkeeping must finish, however long the outage: no attempt limit.
UNTIL_DONE = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5))


class Stop(Exception):
    """Ends the forward path: the order is unwound and closes in `status`."""

    def __init__(self, status: OrderStatus, kind: str, reason: str, actor: str = "system"):
        super().__init__(reason)
        self.status, self.kind, self.reason, self.actor = status, kind, reason, actor


async def business_step(activity: Any, arg: Any) -> Any:
    """Runs a business step; a business refusal or exhausted retries stop the order."""
    try:
        return await workflow.execute_activity_method(
            activity, arg, start_to_close_timeout=STEP_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=STEP_RETRY)
    except ActivityError as error:
        raise stop_for(error) from error


async def until_done(activity: Any, arg: Any, *, raise_permanent: bool = False) -> Any:
    """Runs an undo or a piece of bookkeeping, retrying transient failures for as long as it
    takes; one no retry can fix flags the order and waits for support to retry it (or, with
    `raise_permanent`, is raised to the caller)."""
    step = getattr(activity, "__name__", str(activity))
    retried = False
    while True:
        try:
            result = await workflow.execute_activity_method(
                activity, arg, start_to_close_timeout=STEP_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=UNTIL_DONE)
        except ActivityError as error:
            # UNTIL_DONE has no attempt limit: only a non-retryable failure gets here.
            desk = workflow.instance()
            if raise_permanent or not isinstance(desk, SupportDesk):
                raise
            await desk.await_support(step, error)
            retried = True
        else:
            if retried:
                await workflow.instance().support_retry_worked(step)
            return result


@runtime_checkable
class SupportDesk(Protocol):
    """A workflow that can flag itself for attention and wait for support."""

    async def await_support(self, step: str, error: ActivityError) -> None: ...

    async def support_retry_worked(self, step: str) -> None: ...


def stop_for(error: ActivityError) -> Stop:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == PAYMENT_DECLINED:
        return Stop(OrderStatus.PAYMENT_FAILED, "payment.failed", cause.message)
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    return Stop(OrderStatus.FAILED, "order.failed", message)


async def wait_until(condition: Callable[[], bool], timeout: timedelta | None) -> bool:
    """True when `condition` came true, False when the durable timer ran out first."""
    try:
        await workflow.wait_condition(condition, timeout=timeout)
    except TimeoutError:
        return False
    return True
