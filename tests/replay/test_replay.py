"""Saved OrderWorkflow histories still replay on today's code, and a change to the commands
the workflow issues is caught: the guard every workflow change has to pass (STYLE habit 9).

The histories are recorded by `python -m tests.replay.record_histories`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.order_workflow import OrderWorkflow

# The sandbox re-imports this module for the changed workflows below, as it re-imports
# workflows.order_workflow for the real one. Like that module, the workflow's payload types
# come through as they are: a re-imported order_contract would hold the sandbox's datetime,
# which the payload converter does not know, and a carrier_event signal would not decode.
with workflow.unsafe.imports_passed_through():
    import pytest

    from tests.replay.record_histories import HISTORIES, SCENARIOS, history_workflow_id
    from workers.worker import WORKFLOW_RUNNER
    from workflows.order_contract import OrderInput, OrderResult


def saved_history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(history_workflow_id(path.stem), path.read_text())


def saved_histories() -> list[WorkflowHistory]:
    """The latest recording of every path, and those of earlier versions in subfolders."""
    return [saved_history(path) for path in sorted(HISTORIES.rglob("*.json"))]


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


@workflow.defn(name="OrderWorkflow")
class OrderWorkflowScreeningFirst(OrderWorkflow):
    """OrderWorkflow as someone might change it without `workflow.patched()`: a fraud screen
    runs before the payment is authorized."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        return await super().run(input)

    async def _authorize_payment(self) -> None:
        await workflow.execute_activity("screen_for_fraud", self._order.order_id,
                                        start_to_close_timeout=timedelta(seconds=10))
        await super()._authorize_payment()


@workflow.defn(name="OrderWorkflow")
class OrderWorkflowScreeningFirstPatched(OrderWorkflow):
    """The same change done right: new orders are screened, old ones go on as they were."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        return await super().run(input)

    async def _authorize_payment(self) -> None:
        if workflow.patched("screen-for-fraud"):
            await workflow.execute_activity("screen_for_fraud", self._order.order_id,
                                            start_to_close_timeout=timedelta(seconds=10))
        await super()._authorize_payment()


def test_a_history_is_saved_for_every_recorded_path():
    assert sorted(path.stem for path in HISTORIES.glob("*.json")) == sorted(SCENARIOS)


async def test_every_saved_history_replays_on_the_current_workflow():
    # Given the histories of orders that took each path through the workflow
    histories = saved_histories()

    # When they are replayed on today's OrderWorkflow, as the worker runs it
    replayer = Replayer(workflows=[OrderWorkflow], workflow_runner=WORKFLOW_RUNNER)
    results = await replayer.replay_workflows(_each(histories), raise_on_replay_failure=True)

    # Then none of them diverges
    assert results.replay_failures == {}


async def test_an_extra_activity_before_authorize_fails_to_replay_a_saved_history():
    # Given a workflow changed to run an activity before authorizing, without a patch
    replayer = Replayer(workflows=[OrderWorkflowScreeningFirst], workflow_runner=WORKFLOW_RUNNER)

    # When a history recorded before the change is replayed on it
    with pytest.raises(workflow.NondeterminismError) as raised:
        await replayer.replay_workflow(saved_history(HISTORIES / "success.json"))

    # Then the replay stops at the command that no longer matches
    assert "'authorize_payment'" in str(raised.value)
    assert "'screen_for_fraud'" in str(raised.value)


async def test_the_same_change_behind_workflow_patched_replays_every_saved_history():
    replayer = Replayer(workflows=[OrderWorkflowScreeningFirstPatched],
                        workflow_runner=WORKFLOW_RUNNER)
    results = await replayer.replay_workflows(_each(saved_histories()),
                                              raise_on_replay_failure=True)
    assert results.replay_failures == {}


UNREPLAYABLE = {
    # Support's update accepted after the main path's commands live, before them on replay.
    "update_accepted_after_task_timeout.json": (
        "order-CH-100845-0042", "Update machine does not handle this event"),
    # Support's ask signal applied after two activity results live, before them on replay.
    "signal_applied_before_results_after_task_timeout.json": (
        "order-CH-150536-0078", "Activity machine does not handle this event"),
    # A cancel asked at placement, in a timed-out first task: the order completed live (its
    # worker kept it cached), and every query of it fails since.
    "signal_in_first_timed_out_task_of_a_completed_order.json": (
        "order-CH-185010-0002", "Activity type of scheduled event 'authorize_payment'"),
    # A refund asked between the capture's task being scheduled and started, no timeout.
    "signal_between_task_scheduled_and_started.json": (
        "order-CH-185010-0012", "No command scheduled for event HistoryEvent(id: 51"),
}


@pytest.mark.parametrize("name", sorted(UNREPLAYABLE))
async def test_the_histories_that_wedged_orders_still_do_not_replay(name: str):
    """The SDK groups the events around a timed-out workflow task one way live and another on
    replay (tests/replay/unreplayable/README.md). When this test fails, it was fixed there."""
    workflow_id, error = UNREPLAYABLE[name]
    path = HISTORIES.parent / "unreplayable" / name
    history = WorkflowHistory.from_json(workflow_id, path.read_text())
    replayer = Replayer(workflows=[OrderWorkflow], workflow_runner=WORKFLOW_RUNNER)

    with pytest.raises(workflow.NondeterminismError) as raised:
        await replayer.replay_workflow(history)

    assert error in str(raised.value)
