"""CampaignWorkflow: a campaign's stock stays held until its window closes or it is ended
early; then what its orders did not use goes back to general stock."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.campaigns import CampaignActivities, EndCampaignInput
    from workflows.campaign_contract import CampaignInput, CampaignResult, EndRequest

END_TIMEOUT = timedelta(seconds=30)
# Ending must happen, however long the database is away: no attempt limit.
UNTIL_DONE = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5))


@workflow.defn
class CampaignWorkflow:
    """Ends one campaign when its window closes, or earlier on the `end_now` signal."""

    def __init__(self) -> None:
        self._end_request: EndRequest | None = None

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignResult:
        await self._until_end(input.ends_at)
        request = self._end_request
        reason = f"{request.reason} by {request.actor}" if request else "window closed"
        ended = await workflow.execute_activity_method(
            CampaignActivities.end_campaign, EndCampaignInput(input.code, reason),
            start_to_close_timeout=END_TIMEOUT, retry_policy=UNTIL_DONE)
        return CampaignResult(input.code, ended.units_returned, ended_early=request is not None)

    @workflow.signal
    def end_now(self, request: EndRequest) -> None:
        """Ends the campaign now instead of at the end of its window."""
        if self._end_request is None:
            self._end_request = request

    async def _until_end(self, ends_at: datetime) -> None:
        """A durable timer to `ends_at` that the end_now signal cuts short."""
        remaining = ends_at - workflow.now()
        if remaining <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._end_request is not None,
                                          timeout=remaining, timeout_summary="campaign ends")
