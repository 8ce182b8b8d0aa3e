"""Workflows the repairer found wedged are found again: counted by outcome in /metrics and
listed on the ops dashboard, a run recorded once whatever the number of rounds."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from activities.db.engine import SessionFactory
from activities.db.repair_repository import RepairRecord, RepairRepository
from activities.db.repair_tables import RESET, UNREPAIRABLE
from tests.api.test_console_ops import signed_in  # noqa: F401
from tests.api.test_metrics import scrape
from tests.workflows.conftest import Stack

NOW = datetime.now(UTC)
PROBLEM = "[TMPRL1100] Nondeterminism error: Activity machine does not handle this event"


async def record(db: SessionFactory, repair: RepairRecord) -> None:
    async with db.begin() as session:
        await RepairRepository(session).record(repair)


def unrepairable(workflow_id: str, run_id: str) -> RepairRecord:
    return RepairRecord(workflow_id, run_id, "OrderWorkflow", PROBLEM, UNREPAIRABLE, NOW)


def reset(workflow_id: str, run_id: str) -> RepairRecord:
    return RepairRecord(workflow_id, run_id, "OrderWorkflow", PROBLEM, RESET, NOW,
                        reset_to=47, new_run_id=f"{run_id}-new", forgotten_events=2)


async def test_repairs_are_counted_by_outcome_once_per_run(api: httpx.AsyncClient,
                                                             stack: Stack):
    # Given one run found unrepairable, then reset once a release replayed it, and another
    # run found unrepairable twice
    await record(stack.db, unrepairable("order-A", "run-1"))
    await record(stack.db, reset("order-A", "run-1"))
    await record(stack.db, unrepairable("order-B", "run-2"))
    await record(stack.db, unrepairable("order-B", "run-2"))

    # When Prometheus scrapes, then each run counts once, in its latest outcome
    found = await scrape(api)
    assert found[("fulfil_workflow_repairs_total", (("outcome", RESET),))] == 1
    assert found[("fulfil_workflow_repairs_total", (("outcome", UNREPAIRABLE),))] == 1


async def test_the_dashboard_lists_the_repairs(signed_in: httpx.AsyncClient,  # noqa: F811
                                               stack: Stack):
    await record(stack.db, reset("order-A", "run-1"))

    page = (await signed_in.get("/console/ops")).text

    assert "Workflows repaired" in page
    assert '<th scope="row">order-A</th><td>reset</td><td class="num">47</td>' in page
    assert PROBLEM in page


async def test_the_dashboard_says_when_no_workflow_needed_repair(
        signed_in: httpx.AsyncClient):  # noqa: F811
    assert "No workflow needed repair." in (await signed_in.get("/console/ops")).text
