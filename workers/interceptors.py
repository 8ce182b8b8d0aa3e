"""Binds every activity's log lines to its order and workflow through structlog contextvars."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from workflows.order_contract import WORKFLOW_ID_PREFIX


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        workflow_id = info.workflow_id or ""
        order_id = workflow_id.removeprefix(WORKFLOW_ID_PREFIX) if workflow_id.startswith(
            WORKFLOW_ID_PREFIX) else None
        with structlog.contextvars.bound_contextvars(
            order_id=order_id, workflow_id=workflow_id, run_id=info.workflow_run_id,
            activity=info.activity_type, attempt=info.attempt,
        ):
            return await super().execute_activity(input)


class LoggingInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
