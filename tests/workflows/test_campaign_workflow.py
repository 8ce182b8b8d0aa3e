"""A campaign's workflow keeps its stock held until the window closes or it is ended early,
then gives back what its orders did not use."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from api.campaigns import CampaignService
from domain.errors import ActionRefused, CampaignConflict
from tests.workflows.conftest import Stack
from workflows.campaign_contract import CampaignResult, campaign_workflow_id
from workflows.campaign_workflow import CampaignWorkflow

WEEK = timedelta(days=7)
HELD = [("TEE-BLK-M", "BER", 8)]


def fresh(code: str) -> str:
    """A campaign code no earlier test has used: workflow ids outlive each test's database."""
    return f"{code}-{uuid.uuid4().hex[:8].upper()}"


def campaigns(stack: Stack) -> CampaignService:
    return CampaignService(stack.orders.client, stack.db, stack.orders.task_queue)


async def general_salable(db: SessionFactory) -> dict[str, int]:
    """Warehouse -> units of TEE-BLK-M an ordinary order could take."""
    async with db.begin() as session:
        return {r.warehouse: r.salable
                for r in await StockRepository(session).lock_stock(["TEE-BLK-M"])}


async def test_a_campaign_ends_when_its_window_closes_and_its_stock_returns(stack: Stack) -> None:
    # Given a week-long campaign holding 8 of Berlin's 10 T-shirts
    service, code = campaigns(stack), fresh("SUMMER")
    now = await stack.env.get_current_time()  # earlier tests skip its clock ahead
    await service.create(code, "Summer sale", now - timedelta(hours=1), now + WEEK, HELD)
    assert await general_salable(stack.db) == {"BER": 2, "HAM": 5}
    handle = stack.orders.client.get_workflow_handle_for(CampaignWorkflow.run,
                                                         campaign_workflow_id(code))

    # When the week goes by
    await stack.env.sleep(WEEK + timedelta(hours=1))

    # Then the campaign has ended by itself and its units are general stock again
    assert await handle.result() == CampaignResult(code, units_returned=8, ended_early=False)
    assert (await service.show(code)).status == "ended"
    assert await general_salable(stack.db) == {"BER": 10, "HAM": 5}


async def test_end_now_ends_a_campaign_early(stack: Stack) -> None:
    # Given a running week-long campaign
    service, code = campaigns(stack), fresh("FLASH")
    now = await stack.env.get_current_time()  # earlier tests skip its clock ahead
    await service.create(code, "Flash sale", now, now + WEEK, HELD)

    # When support ends it on its first day
    result = await service.end(code, "sold out elsewhere", "alice")

    # Then it ends at once, giving everything back; ending it again is refused
    assert result == CampaignResult(code, units_returned=8, ended_early=True)
    assert (await service.show(code)).status == "ended"
    assert await general_salable(stack.db) == {"BER": 10, "HAM": 5}
    with pytest.raises(ActionRefused, match=f"^campaign {code} has already ended$"):
        await service.end(code)


async def test_a_refused_campaign_starts_no_workflow(stack: Stack) -> None:
    # Given a campaign holding Berlin's T-shirts
    service, code, rival = campaigns(stack), fresh("SUMMER"), fresh("RIVAL")
    now = await stack.env.get_current_time()  # earlier tests skip its clock ahead
    await service.create(code, "Summer sale", now, now + WEEK, HELD)

    # When another campaign over the same week wants some of the same stock
    with pytest.raises(CampaignConflict):
        await service.create(rival, "Rival sale", now, now + WEEK, [("TEE-BLK-M", "BER", 1)])

    # Then nothing of it exists, in the database or in Temporal
    assert [c.code for c in await service.list()] == [code]
    with pytest.raises(RPCError):
        await stack.orders.client.get_workflow_handle(campaign_workflow_id(rival)).describe()
    summer = await stack.orders.client.get_workflow_handle(campaign_workflow_id(code)).describe()
    assert summer.status == WorkflowExecutionStatus.RUNNING
    await service.end(code)
