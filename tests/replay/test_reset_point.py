"""Where the repairer resets a wedged order, read off the histories of the chaos runs that do
not replay (tests/replay/unreplayable/README.md): the first attempt of the task that broke.
After a timeout that is the task that timed out on the dead worker's queue, so the request
that arrived meanwhile runs with the results beside it, as replay runs them; without one it
is the task that took the request live. Nothing the broken task did is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.repairs.reset_point import ResetPoint, first_attempts, kept, latest_reset_point
from tests.replay.test_replay import UNREPLAYABLE
from workers.worker import WORKFLOW_RUNNER, WORKFLOWS

E = EventType
TIMED_OUT, COMPLETED = E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
UNREPLAYABLE_DIR = Path(__file__).parent / "unreplayable"
# history -> the event ending the task to run again (each README names that task)
EXPECTED = {"signal_applied_before_results_after_task_timeout.json": (47, TIMED_OUT),
            "update_accepted_after_task_timeout.json": (44, TIMED_OUT),
            "signal_in_first_timed_out_task_of_a_completed_order.json": (16, TIMED_OUT),
            # no timeout: the task that took the signal live is run again
            "signal_between_task_scheduled_and_started.json": (46, COMPLETED)}


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(UNREPLAYABLE[name][0],
                                     (UNREPLAYABLE_DIR / name).read_text())


async def replays(part: WorkflowHistory) -> bool:
    result = await Replayer(workflows=list(WORKFLOWS), workflow_runner=WORKFLOW_RUNNER
                            ).replay_workflow(part, raise_on_replay_failure=False)
    return result.replay_failure is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_a_wedged_order_is_reset_to_the_first_attempt_of_the_task_that_broke(name: str):
    wedged = history(name)
    events = {e.event_id: e for e in wedged.events}

    point = await latest_reset_point(wedged, replays)

    assert point is not None
    assert (point.task_ended, events[point.task_ended].event_type) == EXPECTED[name]
    assert await replays(kept(wedged, point))
    # and it is the latest such point: the next one keeps the broken task
    later = [p for p in first_attempts(wedged.events) if p.task_ended > point.task_ended]
    assert later and not await replays(kept(wedged, later[0]))


def test_first_attempts_skip_the_retries_of_a_task() -> None:
    wedged = history("update_accepted_after_task_timeout.json")
    points = first_attempts(wedged.events)
    # task 41 timed out (44); its retry, task 45, completed (47): only 41 is a first attempt
    assert ResetPoint(44, 43) in points
    assert all(p.task_ended != 47 for p in points)
    assert points[0] == ResetPoint(4, 3)  # the workflow's first task


async def test_no_point_when_nothing_replays() -> None:
    async def never(_: WorkflowHistory) -> bool:
        return False

    assert await latest_reset_point(history("update_accepted_after_task_timeout.json"),
                                    never) is None
