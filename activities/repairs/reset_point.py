"""Where to run a wedged workflow again from.

A workflow whose workflow task fails on every attempt with a non-determinism error is stuck
until its history replays. Temporal's reset copies the history up to a workflow task's start,
fails that task, reapplies the signals received after it and lets a worker run the task again
from there. The point must be one the current code replays up to, and the task run again must
not carry the events around a timed-out task: the SDK groups those one way live and another on
replay (sdk-python #1591, tests/replay/unreplayable/README.md), so running such a task again
could wedge the order a second time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

E = EventType
Replays = Callable[[WorkflowHistory], Awaitable[bool]]


TASK_ENDS = (E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
             E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)


@dataclass(frozen=True)
class ResetPoint:
    task_ended: int  # the event that ended the workflow task to run again
    kept_through: int  # the last event the reset keeps: the one before `task_ended`


def first_attempts(events: Iterable[HistoryEvent]) -> list[ResetPoint]:
    """The workflow tasks, oldest first, that are the first attempt after a completed task
    (or the workflow's first task), whether they completed, failed or timed out. Running one
    of them again brings every event since the last completed task, and no other attempt."""
    points: list[ResetPoint] = []
    first = True
    for event in events:
        if event.event_type in TASK_ENDS:
            if first:
                points.append(ResetPoint(event.event_id, event.event_id - 1))
            first = event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return points


def kept(history: WorkflowHistory, point: ResetPoint) -> WorkflowHistory:
    """The part of `history` a reset at `point` keeps."""
    events: Sequence[HistoryEvent] = history.events
    return WorkflowHistory(history.workflow_id,
                           [e for e in events if e.event_id <= point.kept_through])


async def latest_reset_point(history: WorkflowHistory, replays: Replays) -> ResetPoint | None:
    """The latest first attempt of a task up to whose end `history` replays, or None.

    A history that fails to replay up to some event fails up to every later one, so the
    search walks back from the end and stops at the first prefix that replays."""
    for point in reversed(first_attempts(history.events)):
        if await replays(kept(history, point)):
            return point
    return None
