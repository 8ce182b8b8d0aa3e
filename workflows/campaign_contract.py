"""What the outside world needs to talk to a campaign's workflow: its id, input, the end
request it accepts and the result it ends with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WORKFLOW_ID_PREFIX = "campaign-"


def campaign_workflow_id(code: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{code}"


@dataclass(frozen=True)
class CampaignInput:
    code: str
    ends_at: datetime


@dataclass(frozen=True)
class EndRequest:
    reason: str = "ended early"
    actor: str = "support"


@dataclass(frozen=True)
class CampaignResult:
    code: str
    units_returned: int
    ended_early: bool
