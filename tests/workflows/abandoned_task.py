"""A worker that dies at the worst moment, on cue: the workflow task that notes the first event
of a chosen kind hands it to the worker for recording (its `record_event` local activity
commits to PostgreSQL, or its regular activity is scheduled), something happens outside (a
cancel arrives), and the task fails instead of completing, exactly as if the worker had been
SIGKILLed right then. Temporal retries the task on the history without that event, and the
workflow may take another path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import temporalio.workflow
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities.records import RecordEventInput, RecordEventsInput

Meanwhile = Callable[[RecordEventInput], Coroutine[Any, Any, None]]
MEANWHILE_TIMEOUT_S = 1.5  # below the SDK's 2 s deadlock detector


class AbandonTaskAfterRecord(Interceptor):
    """Fails, once, the workflow task that recorded an event of `kind`, after `meanwhile`
    (e.g. support's cancel) has run on `loop`, the test's event loop."""

    def __init__(self, kind: str, meanwhile: Meanwhile, loop: asyncio.AbstractEventLoop) -> None:
        self.kind = kind
        self.meanwhile = meanwhile
        self.loop = loop
        self.abandoned: RecordEventInput | None = None  # the event of the abandoned task

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput,
    ) -> type[WorkflowInboundInterceptor]:
        owner = self

        # Defined here so that the class, which runs inside the workflow sandbox, shares
        # `owner` with the test instead of a re-imported copy of this module.
        class _FailTheTask(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_DieAfterRecord(outbound, owner))

        return _FailTheTask

    def cue(self, activity: str, args: Any) -> RecordEventInput | None:
        """The event of `kind` this activity writes (alone or in a batch), once."""
        if self.abandoned is not None or not args:
            return None
        if activity == "record_event" and isinstance(args[0], RecordEventInput):
            records = [args[0]]
        elif activity == "record_events" and isinstance(args[0], RecordEventsInput):
            records = list(args[0].events)
        else:
            return None
        return next((record for record in records if record.kind == self.kind), None)

    def die(self, record: RecordEventInput) -> None:
        """Runs `meanwhile` to its end, then fails the workflow task."""
        self.abandoned = record
        # Workflow code runs on a worker thread: blocking it here keeps the task open until
        # the outside event has reached the server, so the retry is sure to see it.
        asyncio.run_coroutine_threadsafe(self.meanwhile(record), self.loop).result(
            MEANWHILE_TIMEOUT_S)
        killed = RuntimeError("worker killed before its workflow task completed")
        # What the SDK does with an error that fails the task (not an ApplicationError, which
        # would fail the workflow), also when the event is recorded from a detached asyncio
        # task, whose errors would otherwise wait in the task.
        workflow_runtime = temporalio.workflow._Runtime.current()
        workflow_runtime._current_activation_error = killed  # type: ignore[attr-defined]
        raise killed


class _DieAfterRecord(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, owner: AbandonTaskAfterRecord) -> None:
        super().__init__(next)
        self._owner = owner

    def start_local_activity(self, input: StartLocalActivityInput) -> Any:
        handle = super().start_local_activity(input)
        record = self._owner.cue(input.activity, input.args)
        if record is None:
            return handle
        owner = self._owner

        async def committed_then_die() -> Any:
            await handle
            owner.die(record)

        return asyncio.ensure_future(committed_then_die())

    def start_activity(self, input: StartActivityInput) -> Any:
        handle = super().start_activity(input)
        record = self._owner.cue(input.activity, input.args)
        if record is not None:
            self._owner.die(record)
        return handle
