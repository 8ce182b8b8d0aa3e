"""Campaign services for merchandising: create a campaign with the stock it holds back, list
and show campaigns, end one early.

A campaign is written to the database first (that is where its stock is held) and its
workflow started right after; the workflow ends it when its window closes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.db.allocation_repository import CampaignRepository
from activities.db.engine import SessionFactory
from domain.campaigns import ACTIVE, Campaign, InvalidCampaign, new_campaign
from domain.errors import ActionRefused, CampaignConflict, DomainError
from domain.times import parse_utc
from workflows.campaign_contract import (
    CampaignInput,
    CampaignResult,
    EndRequest,
    campaign_workflow_id,
)
from workflows.campaign_workflow import CampaignWorkflow

log = structlog.get_logger(__name__)

HOLD = re.compile(r"^(?P<sku>[^@=\s]+)@(?P<warehouse>[^@=\s]+)=(?P<quantity>-?\d+)$")


class CampaignNotFound(DomainError):
    """No campaign with that code."""


def parse_time(text: str, field: str) -> datetime:
    """An ISO date or date-time; one without a zone is UTC."""
    try:
        return parse_utc(text)
    except ValueError:
        raise InvalidCampaign(field, f"not an ISO date-time {text!r}") from None


def parse_hold(text: str) -> tuple[str, str, int]:
    """`SKU@WAREHOUSE=QTY`, e.g. `TEE-BLK-M@BER=20`."""
    match = HOLD.match(text.strip())
    if match is None:
        raise InvalidCampaign("hold", f"{text!r} is not SKU@WAREHOUSE=QTY")
    return match["sku"], match["warehouse"], int(match["quantity"])


class CampaignService:
    def __init__(self, client: Client, session_factory: SessionFactory, task_queue: str) -> None:
        self.client = client
        self.session_factory = session_factory
        self.task_queue = task_queue

    async def create(self, code: str, name: str, starts_at: datetime, ends_at: datetime,
                     allocations: Iterable[tuple[str, str, int]] = ()) -> Campaign:
        """Holds the campaign's stock and starts the workflow that will end it. Refused when
        a rule is broken, a SKU or warehouse is unknown, stock is short or another campaign
        holds the same stock over an overlapping period; nothing is changed then."""
        campaign = new_campaign(code, name, starts_at, ends_at, allocations, now=datetime.now(UTC))
        async with self.session_factory.begin() as session:
            await CampaignRepository(session).create(campaign)
        try:
            await self.client.start_workflow(
                CampaignWorkflow.run, CampaignInput(campaign.code, campaign.ends_at),
                id=campaign_workflow_id(campaign.code), task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"{campaign.name} until {campaign.ends_at.isoformat()}")
        except Exception as error:
            # Without its workflow nothing would ever end the campaign: give its stock back.
            await self._end_in_database(campaign.code)
            if isinstance(error, WorkflowAlreadyStartedError):
                raise CampaignConflict(f"campaign {campaign.code} existed before") from None
            raise
        log.info("campaign.created", campaign=campaign.code, units_held=campaign.left,
                 starts_at=campaign.starts_at.isoformat(), ends_at=campaign.ends_at.isoformat())
        return campaign

    async def list(self) -> list[Campaign]:
        async with self.session_factory() as session:
            return await CampaignRepository(session).all()

    async def show(self, code: str) -> Campaign:
        """The campaign with, per hold, the units held, used by orders and left."""
        async with self.session_factory() as session:
            campaign = await CampaignRepository(session).get(code)
        if campaign is None:
            raise CampaignNotFound(f"no campaign {code!r}")
        return campaign

    async def end(self, code: str, reason: str = "ended early", actor: str = "support"
                  ) -> CampaignResult:
        """Ends a campaign before its window closes; waits until its stock is given back."""
        if (await self.show(code)).status != ACTIVE:
            raise ActionRefused(f"campaign {code} has already ended")
        handle = self.client.get_workflow_handle_for(CampaignWorkflow.run,
                                                     campaign_workflow_id(code))
        await handle.signal(CampaignWorkflow.end_now, EndRequest(reason, actor))
        return await handle.result()

    async def _end_in_database(self, code: str) -> None:
        async with self.session_factory.begin() as session:
            await CampaignRepository(session).end(code)
