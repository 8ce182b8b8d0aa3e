"""Choosing which warehouses serve an order: one if possible, else split by priority."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.allocation import Allocation, WarehouseStock, allocate
from domain.errors import DomainError, OutOfStock


def stock(*rows: tuple[str, str, int, int]) -> list[WarehouseStock]:
    """Rows of (sku, warehouse, priority, salable)."""
    return [WarehouseStock(sku, wh, priority, salable) for sku, wh, priority, salable in rows]


def test_an_order_one_warehouse_can_fill_is_served_from_it_alone() -> None:
    rows = stock(("MUG", "BER", 1, 10), ("TEE", "BER", 1, 10))

    assert allocate({"MUG": 2, "TEE": 3}, rows) == [
        Allocation("MUG", "BER", 2), Allocation("TEE", "BER", 3)
    ]


def test_a_lower_priority_warehouse_that_can_fill_everything_beats_splitting() -> None:
    rows = stock(
        ("MUG", "BER", 1, 10), ("TEE", "BER", 1, 1),
        ("MUG", "AMS", 2, 5), ("TEE", "AMS", 2, 5),
    )

    assert allocate({"MUG": 2, "TEE": 3}, rows) == [
        Allocation("MUG", "AMS", 2), Allocation("TEE", "AMS", 3)
    ]


def test_among_warehouses_that_can_fill_everything_the_highest_priority_wins() -> None:
    rows = stock(
        ("MUG", "AMS", 3, 10), ("TEE", "AMS", 3, 10),
        ("MUG", "BER", 1, 10), ("TEE", "BER", 1, 10),
        ("MUG", "CPH", 2, 10), ("TEE", "CPH", 2, 10),
    )

    assert {a.warehouse for a in allocate({"MUG": 1, "TEE": 1}, rows)} == {"BER"}


def test_warehouses_of_equal_priority_are_chosen_by_code() -> None:
    rows = stock(("MUG", "CPH", 1, 10), ("MUG", "AMS", 1, 10), ("MUG", "BER", 1, 10))

    assert allocate({"MUG": 4}, rows) == [Allocation("MUG", "AMS", 4)]


def test_a_line_no_warehouse_can_fill_is_split_in_priority_order() -> None:
    rows = stock(("MUG", "CPH", 3, 5), ("MUG", "BER", 1, 3), ("MUG", "AMS", 2, 4))

    assert allocate({"MUG": 9}, rows) == [
        Allocation("MUG", "BER", 3), Allocation("MUG", "AMS", 4), Allocation("MUG", "CPH", 2)
    ]


def test_splitting_stops_at_the_first_warehouses_that_cover_the_line() -> None:
    rows = stock(("MUG", "BER", 1, 3), ("MUG", "AMS", 2, 4), ("MUG", "CPH", 3, 4))

    allocations = allocate({"MUG": 5}, rows)

    assert allocations == [Allocation("MUG", "BER", 3), Allocation("MUG", "AMS", 2)]


def test_splitting_skips_warehouses_with_nothing_salable() -> None:
    rows = stock(("MUG", "BER", 1, 0), ("MUG", "AMS", 2, 2), ("MUG", "CPH", 3, 2))

    assert allocate({"MUG": 3}, rows) == [
        Allocation("MUG", "AMS", 2), Allocation("MUG", "CPH", 1)
    ]


def test_without_a_single_warehouse_each_sku_goes_to_its_best_stocked_warehouses() -> None:
    rows = stock(("MUG", "BER", 1, 5), ("TEE", "BER", 1, 0), ("TEE", "AMS", 2, 5))

    assert allocate({"MUG": 2, "TEE": 2}, rows) == [
        Allocation("MUG", "BER", 2), Allocation("TEE", "AMS", 2)
    ]


def test_taking_all_the_salable_stock_is_allowed() -> None:
    rows = stock(("MUG", "BER", 1, 2), ("MUG", "AMS", 2, 3))

    assert allocate({"MUG": 5}, rows) == [
        Allocation("MUG", "BER", 2), Allocation("MUG", "AMS", 3)
    ]


def test_allocations_are_listed_by_sku() -> None:
    rows = stock(("ZIP", "BER", 1, 5), ("ABC", "BER", 1, 5), ("MUG", "BER", 1, 5))

    skus = [a.sku for a in allocate({"ZIP": 1, "MUG": 1, "ABC": 1}, rows)]

    assert skus == ["ABC", "MUG", "ZIP"]


def test_stock_of_skus_not_ordered_is_left_alone() -> None:
    rows = stock(("MUG", "BER", 1, 5), ("TEE", "BER", 1, 5))

    assert allocate({"MUG": 1}, rows) == [Allocation("MUG", "BER", 1)]


def test_an_empty_order_needs_no_allocation() -> None:
    assert allocate({}, stock(("MUG", "BER", 1, 5))) == []


def test_too_little_stock_across_all_warehouses_is_out_of_stock_naming_the_short_sku() -> None:
    rows = stock(("MUG", "BER", 1, 10), ("TEE", "BER", 1, 1), ("TEE", "AMS", 2, 2))

    with pytest.raises(OutOfStock) as caught:
        allocate({"MUG": 1, "TEE": 5}, rows)

    assert str(caught.value) == "not enough stock: TEE short by 2"


def test_a_sku_no_warehouse_stocks_is_short_by_the_whole_quantity() -> None:
    with pytest.raises(OutOfStock, match="^not enough stock: GHOST short by 4$"):
        allocate({"GHOST": 4}, stock(("MUG", "BER", 1, 10)))


def test_every_short_sku_is_named_in_sku_order() -> None:
    rows = stock(("MUG", "BER", 1, 1), ("TEE", "BER", 1, 1), ("PIN", "BER", 1, 9))

    with pytest.raises(OutOfStock) as caught:
        allocate({"TEE": 3, "PIN": 2, "MUG": 2}, rows)

    assert str(caught.value) == "not enough stock: MUG short by 1, TEE short by 2"


def test_out_of_stock_is_a_domain_error() -> None:
    assert issubclass(OutOfStock, DomainError)


SKUS = ["A", "B", "C"]
WAREHOUSES = ["W1", "W2", "W3", "W4"]


@st.composite
def stock_and_order(draw: st.DrawFn) -> tuple[dict[str, int], list[WarehouseStock]]:
    """At most one stock row per SKU and warehouse, and wanted quantities near the SKU's total.

    Drawing each quantity up to two more than the SKU's total stock makes orders that fit one
    warehouse, orders that must be split and orders that are out of stock all common.
    """
    priorities = {wh: draw(st.integers(0, 3)) for wh in WAREHOUSES}
    levels = {(sku, wh): draw(st.none() | st.integers(0, 6)) for sku in SKUS for wh in WAREHOUSES}
    rows = [WarehouseStock(sku, wh, priorities[wh], n)
            for (sku, wh), n in levels.items() if n is not None]
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, unique=True))
    wanted = {
        sku: draw(st.integers(1, sum(r.salable for r in rows if r.sku == sku) + 2)) for sku in skus
    }
    return wanted, draw(st.permutations(rows))


@given(stock_and_order())
def test_allocation_fills_the_order_exactly_within_salable_stock_or_is_out_of_stock(
    case: tuple[dict[str, int], list[WarehouseStock]],
) -> None:
    wanted, rows = case
    salable = {(r.sku, r.warehouse): r.salable for r in rows}
    total = Counter[str]()
    for r in rows:
        total[r.sku] += r.salable
    short = {sku: qty - total[sku] for sku, qty in sorted(wanted.items()) if total[sku] < qty}

    if short:
        with pytest.raises(OutOfStock) as caught:
            allocate(wanted, rows)
        named = ", ".join(f"{sku} short by {n}" for sku, n in short.items())
        assert str(caught.value) == f"not enough stock: {named}"
        return

    allocations = allocate(wanted, rows)

    per_sku = Counter[str]()
    per_place = Counter[tuple[str, str]]()
    for a in allocations:
        assert a.quantity > 0
        per_sku[a.sku] += a.quantity
        per_place[a.sku, a.warehouse] += a.quantity
    assert dict(per_sku) == wanted
    for place, quantity in per_place.items():
        assert quantity <= salable.get(place, 0)


@given(stock_and_order())
def test_an_order_is_split_only_when_no_single_warehouse_can_fill_it(
    case: tuple[dict[str, int], list[WarehouseStock]],
) -> None:
    wanted, rows = case
    if any(sum(r.salable for r in rows if r.sku == sku) < qty for sku, qty in wanted.items()):
        return
    salable = {(r.sku, r.warehouse): r.salable for r in rows}
    fillers = [wh for wh in WAREHOUSES
               if all(salable.get((sku, wh), 0) >= qty for sku, qty in wanted.items())]

    used = {a.warehouse for a in allocate(wanted, rows)}

    if fillers:
        assert len(used) == 1
        assert used <= set(fillers)
    else:
        assert len(used) > 1
