"""Allocation strategies, campaign stock first, and partial plans that report a shortfall."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.allocation import STRATEGIES, Allocation, AllocationPlan, WarehouseStock, plan
from domain.errors import OutOfStock


def stock(*rows: tuple[str, str, int, int, str]) -> list[WarehouseStock]:
    """Rows of (sku, warehouse, priority, salable, country)."""
    return [WarehouseStock(sku, wh, priority, n, country) for sku, wh, priority, n, country in rows]


# BER (DE, priority 1) has a little of everything, AMS (NL, 2) a lot, VIE (AT, 3) a lot.
SPREAD = stock(
    ("MUG", "BER", 1, 2, "DE"), ("TEE", "BER", 1, 5, "DE"),
    ("MUG", "AMS", 2, 9, "NL"), ("TEE", "AMS", 2, 9, "NL"),
    ("MUG", "VIE", 3, 9, "AT"), ("TEE", "VIE", 3, 9, "AT"),
)


def test_priority_takes_each_line_from_the_best_warehouse_and_splits_when_it_runs_short() -> None:
    result = plan({"MUG": 3, "TEE": 3}, SPREAD, "priority")

    assert result == AllocationPlan([
        Allocation("MUG", "BER", 2), Allocation("MUG", "AMS", 1), Allocation("TEE", "BER", 3),
    ], {})


def test_single_warehouse_first_prefers_one_parcel_over_the_best_priority() -> None:
    result = plan({"MUG": 3, "TEE": 3}, SPREAD, "single-warehouse-first")

    assert result.allocations == [Allocation("MUG", "AMS", 3), Allocation("TEE", "AMS", 3)]


def test_single_warehouse_first_splits_by_priority_when_no_warehouse_fills_the_order() -> None:
    result = plan({"MUG": 12}, SPREAD, "single-warehouse-first")

    assert result.allocations == [Allocation("MUG", "BER", 2), Allocation("MUG", "AMS", 9),
                                  Allocation("MUG", "VIE", 1)]


def test_nearest_serves_from_a_warehouse_in_the_destination_country_that_fills_everything() -> None:
    result = plan({"MUG": 3, "TEE": 3}, SPREAD, "nearest", destination_country="AT")

    assert result.allocations == [Allocation("MUG", "VIE", 3), Allocation("TEE", "VIE", 3)]


def test_nearest_splits_starting_in_the_destination_country_when_it_cannot_fill_everything() -> None:
    result = plan({"MUG": 3, "TEE": 3}, SPREAD, "nearest", destination_country="DE")

    assert result.allocations == [Allocation("MUG", "BER", 2), Allocation("MUG", "AMS", 1),
                                  Allocation("TEE", "BER", 3)]


def test_nearest_without_stock_in_the_destination_country_prefers_one_warehouse_by_priority() -> None:
    result = plan({"MUG": 3, "TEE": 3}, SPREAD, "nearest", destination_country="FR")

    assert result.allocations == [Allocation("MUG", "AMS", 3), Allocation("TEE", "AMS", 3)]


def test_nearest_among_domestic_warehouses_that_fill_everything_the_best_priority_wins() -> None:
    rows = stock(("MUG", "VIE", 5, 9, "AT"), ("MUG", "GRZ", 4, 9, "AT"), ("MUG", "AMS", 1, 9, "NL"))

    assert plan({"MUG": 2}, rows, "nearest", "AT").allocations == [Allocation("MUG", "GRZ", 2)]


def test_an_unknown_strategy_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown allocation strategy 'cheapest'"):
        plan({"MUG": 1}, SPREAD, "cheapest")


def test_a_partial_plan_allocates_what_exists_and_reports_the_shortfall() -> None:
    result = plan({"MUG": 25, "TEE": 2}, SPREAD, "single-warehouse-first", allow_partial=True)

    assert result.allocations == [
        Allocation("MUG", "BER", 2), Allocation("MUG", "AMS", 9), Allocation("MUG", "VIE", 9),
        Allocation("TEE", "BER", 2),
    ]
    assert result.shortfall == {"MUG": 5}


def test_a_partial_plan_for_a_sku_nobody_stocks_is_all_shortfall() -> None:
    result = plan({"GHOST": 3}, SPREAD, "priority", allow_partial=True)

    assert result == AllocationPlan([], {"GHOST": 3})


def test_without_partial_an_order_that_cannot_be_filled_is_out_of_stock() -> None:
    with pytest.raises(OutOfStock, match="^not enough stock: MUG short by 5$"):
        plan({"MUG": 25}, SPREAD, "nearest", "DE")


CAMPAIGN = stock(("TEE", "AMS", 2, 2, "NL"), ("TEE", "VIE", 3, 4, "AT"))


def test_a_campaign_order_draws_on_campaign_stock_before_general_stock() -> None:
    result = plan({"TEE": 3}, SPREAD, "priority", campaign="SUMMER", campaign_stock=CAMPAIGN)

    assert result.allocations == [Allocation("TEE", "AMS", 2, "SUMMER"),
                                  Allocation("TEE", "VIE", 1, "SUMMER")]


def test_campaign_stock_is_placed_by_the_strategy_too() -> None:
    result = plan({"TEE": 3}, SPREAD, "single-warehouse-first", campaign="SUMMER",
                  campaign_stock=CAMPAIGN)

    assert result.allocations == [Allocation("TEE", "VIE", 3, "SUMMER")]


def test_what_the_campaign_cannot_serve_comes_from_general_stock() -> None:
    result = plan({"TEE": 8, "MUG": 1}, SPREAD, "single-warehouse-first", campaign="SUMMER",
                  campaign_stock=CAMPAIGN)

    assert result.allocations == [
        Allocation("MUG", "BER", 1),
        Allocation("TEE", "AMS", 2, "SUMMER"), Allocation("TEE", "VIE", 4, "SUMMER"),
        Allocation("TEE", "BER", 2),
    ]


def test_campaign_units_count_towards_filling_the_order() -> None:
    rows = stock(("TEE", "BER", 1, 1, "DE"))
    held = stock(("TEE", "BER", 1, 2, "DE"))

    result = plan({"TEE": 3}, rows, campaign="SUMMER", campaign_stock=held)

    assert result.allocations == [Allocation("TEE", "BER", 2, "SUMMER"), Allocation("TEE", "BER", 1)]


def test_an_exhausted_campaign_leaves_the_order_to_general_stock() -> None:
    held = stock(("TEE", "AMS", 2, 0, "NL"))

    result = plan({"TEE": 1}, SPREAD, campaign="SUMMER", campaign_stock=held)

    assert result.allocations == [Allocation("TEE", "BER", 1)]


# --- properties -------------------------------------------------------------------------

SKUS = ["A", "B", "C"]
WAREHOUSES = {"W1": "DE", "W2": "DE", "W3": "NL", "W4": "AT"}
Case = tuple[dict[str, int], list[WarehouseStock], list[WarehouseStock], str, str]


@st.composite
def campaign_case(draw: st.DrawFn) -> Case:
    """General and campaign stock (at most one row of each per SKU and warehouse), a wanted
    quantity up to a little more than all of it, a strategy and a destination country."""
    priorities = {wh: draw(st.integers(0, 3)) for wh in WAREHOUSES}

    def rows() -> list[WarehouseStock]:
        levels = {(s, wh): draw(st.none() | st.integers(0, 5)) for s in SKUS for wh in WAREHOUSES}
        return [WarehouseStock(s, wh, priorities[wh], n, WAREHOUSES[wh])
                for (s, wh), n in levels.items() if n is not None]

    general = rows()
    held = rows() if draw(st.booleans()) else []
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, unique=True))
    total = Counter[str]()
    for r in general + held:
        total[r.sku] += r.salable
    wanted = {s: draw(st.integers(1, total[s] + 2)) for s in skus}
    return (wanted, draw(st.permutations(general)), held, draw(st.sampled_from(STRATEGIES)),
            draw(st.sampled_from(["DE", "NL", "AT", "FR", ""])))


@given(campaign_case())
def test_a_partial_plan_never_over_allocates_a_source_and_accounts_for_every_unit(
    case: Case,
) -> None:
    wanted, general, held, strategy, country = case

    result = plan(wanted, general, strategy, country, allow_partial=True, campaign="C1",
                  campaign_stock=held)

    available = {(r.sku, r.warehouse, ""): r.salable for r in general}
    available |= {(r.sku, r.warehouse, "C1"): r.salable for r in held}
    taken = Counter[tuple[str, str, str]]()
    per_sku = Counter[str]()
    for a in result.allocations:
        assert a.quantity > 0
        taken[a.sku, a.warehouse, a.campaign] += a.quantity
        per_sku[a.sku] += a.quantity
    for source, quantity in taken.items():
        assert quantity <= available.get(source, 0)
    assert all(n > 0 for n in result.shortfall.values())
    assert per_sku + Counter(result.shortfall) == Counter(wanted)


@given(campaign_case())
def test_general_stock_is_touched_only_once_the_campaign_stock_of_the_sku_is_used_up(
    case: Case,
) -> None:
    wanted, general, held, strategy, country = case

    result = plan(wanted, general, strategy, country, allow_partial=True, campaign="C1",
                  campaign_stock=held)

    for sku in {a.sku for a in result.allocations if not a.campaign}:
        from_campaign = sum(a.quantity for a in result.allocations
                            if a.sku == sku and a.campaign)
        assert from_campaign == sum(r.salable for r in held if r.sku == sku)


@given(campaign_case())
def test_without_partial_a_plan_fills_the_order_exactly_or_is_out_of_stock(case: Case) -> None:
    wanted, general, held, strategy, country = case
    partial = plan(wanted, general, strategy, country, allow_partial=True, campaign="C1",
                   campaign_stock=held)

    if partial.shortfall:
        with pytest.raises(OutOfStock):
            plan(wanted, general, strategy, country, campaign="C1", campaign_stock=held)
        return
    assert plan(wanted, general, strategy, country, campaign="C1", campaign_stock=held) == partial
