"""`fulfil order list` searches like the API (email, --since, --until), and the CLI's pick and
pack confirmations go through the same OrderService methods as the API's."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from tests.api.test_order_search import MARCH_1, record
from tests.workflows.conftest import Stack
from workers.cli import app as fulfil


async def run(database_url: str, env: WorkflowEnvironment, *args: str) -> Result:
    """Runs `fulfil` against the test database and time-skipping server, in a thread: the
    command runs its own event loop."""
    settings = {"FULFIL_DATABASE_URL": database_url,
                "FULFIL_TEMPORAL_ADDRESS": env.client.service_client.config.target_host}

    def invoke() -> Result:
        return CliRunner().invoke(fulfil, list(args), env=settings)
    return await asyncio.to_thread(invoke)


async def test_order_list_finds_orders_by_email_within_a_period(stack: Stack, database_url: str):
    # Given Ada's orders of the 1st, 2nd and 3rd of March, and one of Bob's on the 2nd
    days = [await record(stack, MARCH_1 + timedelta(days=n)) for n in range(3)]
    await record(stack, MARCH_1 + timedelta(days=1), customer="cus_7", email="bob@example.com")

    # When her orders from the 2nd up to the 3rd are listed
    listed = await run(database_url, stack.env, "order", "list", "--email", "Ada@Example.com",
                       "--since", "2026-03-02", "--until", "2026-03-03", "--json")

    # Then only the order of the 2nd is shown
    assert listed.exit_code == 0, listed.output
    assert [row["order_id"] for row in json.loads(listed.stdout)] == [days[1]]


async def test_order_list_refuses_a_period_that_is_no_date(stack: Stack, database_url: str):
    refused = await run(database_url, stack.env, "order", "list", "--since", "last week")

    assert refused.exit_code == 2
    assert refused.stderr.strip() == "fulfil: --since: not an ISO date or date-time 'last week'"


async def test_confirming_a_pick_of_an_unknown_order_is_refused_with_its_name(
        stack: Stack, database_url: str):
    refused = await run(database_url, stack.env, "order", "confirm-pick", "NOPE-1")

    assert refused.exit_code == 2
    assert refused.stderr.strip() == "fulfil: no order 'NOPE-1'"
