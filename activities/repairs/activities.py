"""The repair activity: finds the workflows of a task queue whose workflow task fails on
non-determinism, and resets each to the latest point the current code replays up to
(reset_point.py). Signals received after that point are reapplied by the reset; activities
run again with the idempotency keys they had, so a payment or label is not made twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, WorkflowRunner

from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.repair_repository import RepairRecord, RepairRepository
from activities.db.repair_tables import RESET, UNREPAIRABLE
from activities.repairs.reset_point import ResetPoint, latest_reset_point
from domain.printable import printable

log = structlog.get_logger(__name__)

NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
# The server refuses these for good: asking again cannot change its answer.
REFUSALS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION,
            RPCStatusCode.NOT_FOUND)


@dataclass(frozen=True)
class RepairInput:
    task_queue: str  # the repairer looks after the workflows of its own task queue


@dataclass(frozen=True)
class Repair:
    workflow_id: str
    broken_run_id: str
    outcome: str  # RESET or UNREPAIRABLE
    problem: str
    reset_to: int = 0  # the event ending the workflow task that runs again
    new_run_id: str = ""
    forgotten_events: int = 0  # timeline events of the discarded part, to be written anew


def wedged_query(task_queue: str) -> str:
    # The server sets TemporalReportedProblems while a workflow's task keeps failing.
    return (f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running' "
            "AND TemporalReportedProblems IS NOT NULL")


def nondeterminism(history: WorkflowHistory) -> str | None:
    """The failure of the latest workflow task when it failed on non-determinism and no task
    has completed since; None otherwise (another failure is not the repairer's to fix)."""
    for event in reversed(history.events):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return None
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed = event.workflow_task_failed_event_attributes
            return failed.failure.message if failed.cause == NONDETERMINISM else None
    return None


class RepairActivities:
    def __init__(self, session_factory: SessionFactory, workflows: Sequence[type],
                 runner: WorkflowRunner) -> None:
        self.session_factory = session_factory
        self.replayer = Replayer(workflows=workflows, workflow_runner=runner)

    @activity.defn(name="repair_wedged_workflows")
    async def repair_wedged_workflows(self, input: RepairInput) -> list[Repair]:
        """Resets every wedged workflow of the task queue it can; records each it cannot."""
        client = activity.client()
        repairs: list[Repair] = []
        async for execution in client.list_workflows(wedged_query(input.task_queue)):
            repair = await self._repair(client, execution.id, execution.run_id)
            if repair is not None:
                repairs.append(repair)
        return repairs

    async def _repair(self, client: Client, workflow_id: str, run_id: str) -> Repair | None:
        if not await self._still_current(client, workflow_id, run_id):
            return None  # visibility lags: this run was reset or ended meanwhile
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        problem = nondeterminism(history)
        if problem is None or await self.replays(history):
            return None  # not wedged, or the failing worker runs other code than this one
        problem = printable(problem)
        point = await latest_reset_point(history, self.replays)
        if point is None:
            return await self._record(history, Repair(workflow_id, run_id, UNREPAIRABLE, problem))
        # Recorded before the reset: a repairer killed after it would find the run no longer
        # current and could not tell what was done. The discarded part's timeline goes first
        # too; its activities ended long before the run was flagged.
        forgotten = await self._forget_discarded_timeline(workflow_id, point)
        repair = await self._record(history, Repair(
            workflow_id, run_id, RESET, problem, point.task_ended, "", forgotten))
        try:
            new_run_id = await self._reset(client, workflow_id, run_id, point, problem)
        except RPCError as error:
            if error.status not in REFUSALS:
                raise  # the server is away: the next round tries again
            return await self._record(history, replace(
                repair, outcome=UNREPAIRABLE,
                problem=printable(f"{problem}; reset refused: {error.message}")))
        return await self._record(history, replace(repair, new_run_id=new_run_id))

    async def replays(self, history: WorkflowHistory) -> bool:
        result = await self.replayer.replay_workflow(history, raise_on_replay_failure=False)
        return result.replay_failure is None

    @staticmethod
    async def _still_current(client: Client, workflow_id: str, run_id: str) -> bool:
        current = await client.get_workflow_handle(workflow_id).describe()
        return current.run_id == run_id and current.status == WorkflowExecutionStatus.RUNNING

    @staticmethod
    async def _reset(client: Client, workflow_id: str, run_id: str, point: ResetPoint,
                     problem: str) -> str:
        # The request id makes a second repairer's reset of the same run the same reset.
        response = await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                reason=printable(f"fulfil repair: the history replays only up to event "
                                 f"{point.kept_through} ({problem})", 500),
                workflow_task_finish_event_id=point.task_ended,
                request_id=f"repair-{run_id}-{point.task_ended}",
                identity=f"fulfil-repair@{activity.info().workflow_id}"))
        return response.run_id

    async def _forget_discarded_timeline(self, workflow_id: str, point: ResetPoint) -> int:
        async with self.session_factory.begin() as session:
            orders = OrderRepository(session)
            order_id = await orders.order_of_workflow(workflow_id)
            if order_id is None:
                return 0
            return len(await orders.forget_events_noted_from(order_id, point.kept_through))

    async def _record(self, history: WorkflowHistory, repair: Repair) -> Repair:
        started = history.events[0].workflow_execution_started_event_attributes
        async with self.session_factory.begin() as session:
            await RepairRepository(session).record(RepairRecord(
                repair.workflow_id, repair.broken_run_id, started.workflow_type.name,
                repair.problem, repair.outcome, utcnow(), repair.reset_to or None,
                repair.new_run_id or None, repair.forgotten_events))
        if repair.outcome == UNREPAIRABLE or repair.new_run_id:
            logged = log.warning if repair.outcome == RESET else log.error
            logged(f"workflow.{repair.outcome}", workflow_id=repair.workflow_id,
                   run_id=repair.broken_run_id, reset_to=repair.reset_to,
                   new_run_id=repair.new_run_id, forgotten_events=repair.forgotten_events,
                   problem=repair.problem)
        return repair
