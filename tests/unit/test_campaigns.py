"""Campaign rules: what a campaign may be, when its orders may use it, what it may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.campaigns import (
    ENDED,
    Campaign,
    CampaignHold,
    InvalidCampaign,
    check_holdable,
    check_no_overlap,
    new_campaign,
)
from domain.errors import CampaignConflict, DomainError, OutOfStock

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def summer(**changes: object) -> Campaign:
    args: dict = {"code": "SUMMER-26", "name": "Summer sale", "starts_at": NOW,
                  "ends_at": NOW + 7 * DAY, "holds": [("TEE", "BER", 5)]}
    args.update(changes)
    return new_campaign(args.pop("code"), args.pop("name"), args.pop("starts_at"),
                        args.pop("ends_at"), args.pop("holds"), now=NOW)


def test_a_valid_campaign_is_active_and_holds_what_it_names() -> None:
    campaign = summer(holds=[("TEE", "BER", 5), ("MUG", "HAM", 2)])

    assert campaign.status == "active"
    assert campaign.holds == (CampaignHold("TEE", "BER", 5), CampaignHold("MUG", "HAM", 2))
    assert campaign.left == 7


@pytest.mark.parametrize("code", ["x", "summer", "SUMMER SALE", "-SUMMER", "A" * 33, ""])
def test_a_code_outside_the_format_is_refused(code: str) -> None:
    with pytest.raises(InvalidCampaign, match="^code: "):
        summer(code=code)


def test_a_campaign_needs_a_name() -> None:
    with pytest.raises(InvalidCampaign, match="^name: must not be empty$"):
        summer(name="  ")


def test_a_campaign_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidCampaign, match="^ends_at: must be after starts_at$"):
        summer(ends_at=NOW)


def test_a_campaign_that_has_already_ended_cannot_be_created() -> None:
    with pytest.raises(InvalidCampaign, match="^ends_at: must be in the future$"):
        summer(starts_at=NOW - 7 * DAY, ends_at=NOW)


def test_times_without_a_timezone_are_refused() -> None:
    with pytest.raises(InvalidCampaign, match="^starts_at: must carry a timezone"):
        summer(starts_at=datetime(2026, 6, 1))


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_hold_must_be_of_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(InvalidCampaign, match=r"^holds\[0\]\.quantity: must be positive"):
        summer(holds=[("TEE", "BER", quantity)])


def test_the_same_stock_named_twice_is_refused() -> None:
    with pytest.raises(InvalidCampaign, match=r"^holds\[1\]: TEE@BER is named twice$"):
        summer(holds=[("TEE", "BER", 1), ("TEE", "BER", 2)])


def test_an_invalid_campaign_is_a_domain_error() -> None:
    assert issubclass(InvalidCampaign, DomainError)
    assert issubclass(CampaignConflict, DomainError)


def test_orders_may_use_a_campaign_from_its_start_until_just_before_its_end() -> None:
    campaign = summer()

    assert not campaign.applies_at(NOW - timedelta(seconds=1))
    assert campaign.applies_at(NOW)
    assert campaign.applies_at(NOW + 7 * DAY - timedelta(microseconds=1))
    assert not campaign.applies_at(NOW + 7 * DAY)


def test_orders_may_not_use_an_ended_campaign_inside_its_window() -> None:
    ended = Campaign("SUMMER-26", "Summer", NOW, NOW + DAY, status=ENDED)

    assert not ended.applies_at(NOW)


def test_a_campaign_holding_the_same_stock_over_an_overlapping_period_conflicts() -> None:
    existing = summer(code="SPRING", starts_at=NOW - 3 * DAY, ends_at=NOW + DAY)

    with pytest.raises(CampaignConflict, match="^campaign SPRING already holds TEE@BER from "):
        check_no_overlap(summer(), [existing])


def test_campaigns_back_to_back_do_not_overlap() -> None:
    before = Campaign("SPRING", "Spring", NOW - 3 * DAY, NOW, (CampaignHold("TEE", "BER", 5),))

    check_no_overlap(summer(), [before])


def test_overlapping_campaigns_holding_different_stock_do_not_conflict() -> None:
    other = summer(code="MUGS", holds=[("MUG", "BER", 5), ("TEE", "HAM", 1)])

    check_no_overlap(summer(), [other])


def test_an_ended_campaign_no_longer_holds_its_stock() -> None:
    ended = Campaign("SPRING", "Spring", NOW, NOW + DAY, (CampaignHold("TEE", "BER", 5),), ENDED)

    check_no_overlap(summer(), [ended])


def test_holds_within_general_salable_stock_are_allowed() -> None:
    check_holdable(summer(), {("TEE", "BER"): 5})


def test_holds_beyond_general_salable_stock_are_refused_naming_each_short_place() -> None:
    campaign = summer(holds=[("TEE", "BER", 5), ("MUG", "HAM", 2), ("CAP", "BER", 1)])

    with pytest.raises(OutOfStock) as caught:
        check_holdable(campaign, {("TEE", "BER"): 4, ("CAP", "BER"): 1})

    assert str(caught.value) == ("not enough stock to hold: TEE@BER has 4 salable, 5 wanted, "
                                 "MUG@HAM has 0 salable, 2 wanted")


def test_what_is_left_is_what_the_orders_did_not_use() -> None:
    campaign = Campaign("S", "S", NOW, NOW + DAY,
                        (CampaignHold("TEE", "BER", 5, used=3), CampaignHold("MUG", "BER", 2)))

    assert campaign.left == 4
