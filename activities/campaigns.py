"""Activities of a campaign's lifecycle: ending it gives what it still holds back to general
stock."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from temporalio import activity

from activities.db.allocation_repository import CampaignRepository
from activities.db.engine import SessionFactory
from activities.errors import business_failure

log = structlog.get_logger(__name__)

UNKNOWN_CAMPAIGN = "UnknownCampaign"


@dataclass(frozen=True)
class EndCampaignInput:
    code: str
    reason: str = "window closed"


@dataclass(frozen=True)
class CampaignEnded:
    code: str
    units_returned: int  # held units its orders did not use, general stock again
    already_ended: bool = False


class CampaignActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="end_campaign")
    async def end_campaign(self, input: EndCampaignInput) -> CampaignEnded:
        """Marks the campaign ended; what it still holds is general stock again."""
        async with self.session_factory.begin() as session:
            repo = CampaignRepository(session)
            ended = await repo.end(input.code)
            if ended is None:
                # A retry after a lost reply, or ended by other means: nothing left to do.
                current = await repo.get(input.code)
                if current is None:
                    raise business_failure(UNKNOWN_CAMPAIGN, f"no campaign {input.code!r}")
                return CampaignEnded(input.code, current.left, already_ended=True)
        log.info("campaign.ended", campaign=input.code, reason=input.reason,
                 units_returned=ended.left,
                 returned={f"{h.sku}@{h.warehouse}": h.left for h in ended.holds})
        return CampaignEnded(input.code, ended.left)
