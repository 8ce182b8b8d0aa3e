"""Campaigns: a promotion or sale period with stock held back for its orders only.

A campaign holds units of some SKUs in some warehouses from its creation until it ends;
ordinary orders cannot take them. Orders naming the campaign may draw on them inside
[starts_at, ends_at) while it is active. When it ends, what its orders did not use is
general stock again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.errors import CampaignConflict, DomainError, OutOfStock

ACTIVE, ENDED = "active", "ended"
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


class InvalidCampaign(DomainError):
    """A campaign definition that breaks the rules; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CampaignHold:
    """Units of one SKU in one warehouse held for a campaign; `used` are held or shipped by
    its orders."""

    sku: str
    warehouse: str
    quantity: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.quantity - self.used


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    holds: tuple[CampaignHold, ...] = ()
    status: str = ACTIVE

    def applies_at(self, at: datetime) -> bool:
        """Whether an order placed at `at` may draw on the campaign's stock."""
        return self.status == ACTIVE and self.starts_at <= at < self.ends_at

    def overlaps(self, other: Campaign) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    @property
    def left(self) -> int:
        """Units still held and unused: what returns to general stock when it ends."""
        return sum(hold.left for hold in self.holds)


def new_campaign(code: str, name: str, starts_at: datetime, ends_at: datetime,
                 holds: Iterable[tuple[str, str, int]], *, now: datetime) -> Campaign:
    """A campaign to create, checked against the rules that need no stock figures."""
    if not CODE_PATTERN.match(code):
        raise InvalidCampaign("code", f"{code!r} must be 2 to 32 of A-Z, 0-9, '-' and '_'")
    if not name.strip():
        raise InvalidCampaign("name", "must not be empty")
    for label, at in (("starts_at", starts_at), ("ends_at", ends_at)):
        if at.tzinfo is None:
            raise InvalidCampaign(label, "must carry a timezone (UTC offset)")
    if ends_at <= starts_at:
        raise InvalidCampaign("ends_at", "must be after starts_at")
    if ends_at <= now:
        raise InvalidCampaign("ends_at", "must be in the future")
    return Campaign(code, name.strip(), starts_at, ends_at, _holds(holds))


def _holds(holds: Iterable[tuple[str, str, int]]) -> tuple[CampaignHold, ...]:
    result: list[CampaignHold] = []
    seen: set[tuple[str, str]] = set()
    for i, (sku, warehouse, quantity) in enumerate(holds):
        if not sku or not warehouse:
            raise InvalidCampaign(f"holds[{i}]", "needs a SKU and a warehouse")
        if quantity <= 0:
            raise InvalidCampaign(f"holds[{i}].quantity", f"must be positive, got {quantity}")
        if (sku, warehouse) in seen:
            raise InvalidCampaign(f"holds[{i}]", f"{sku}@{warehouse} is named twice")
        seen.add((sku, warehouse))
        result.append(CampaignHold(sku, warehouse, quantity))
    return tuple(result)


def check_no_overlap(campaign: Campaign, others: Iterable[Campaign]) -> None:
    """Refuses a campaign holding stock that an active campaign of an overlapping period
    holds too: the same units cannot be promised to both."""
    mine = {(h.sku, h.warehouse) for h in campaign.holds}
    for other in others:
        if other.code == campaign.code or other.status != ACTIVE or not campaign.overlaps(other):
            continue
        shared = sorted(mine & {(h.sku, h.warehouse) for h in other.holds})
        if shared:
            places = ", ".join(f"{sku}@{warehouse}" for sku, warehouse in shared)
            raise CampaignConflict(
                f"campaign {other.code} already holds {places} from {other.starts_at.isoformat()}"
                f" to {other.ends_at.isoformat()}")


def check_holdable(campaign: Campaign, salable: dict[tuple[str, str], int]) -> None:
    """Refuses holds beyond the general salable stock of their SKU and warehouse."""
    short = [(h, salable.get((h.sku, h.warehouse), 0)) for h in campaign.holds
             if h.quantity > salable.get((h.sku, h.warehouse), 0)]
    if short:
        detail = ", ".join(f"{h.sku}@{h.warehouse} has {n} salable, {h.quantity} wanted"
                           for h, n in short)
        raise OutOfStock(f"not enough stock to hold: {detail}")
