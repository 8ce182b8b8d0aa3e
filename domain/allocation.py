"""Which warehouse serves which part of an order, by the deployment's allocation strategy.

- `priority`: each line from the warehouses in priority order, split across them when needed.
- `single-warehouse-first`: one warehouse that fills the whole order (best priority first),
  else as `priority`.
- `nearest`: warehouses in the destination country first, then by priority; one of those
  nearest warehouses that fills the whole order is preferred, else split in that order. When
  no warehouse in the destination country stocks any of the order, all count as nearest.

A campaign order draws on the units its campaign holds first, then on general stock, with
the same strategy for each.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from domain.errors import OutOfStock

STRATEGIES = ("single-warehouse-first", "priority", "nearest")


@dataclass(frozen=True)
class WarehouseStock:
    """Salable units of one SKU in one warehouse: general stock, or units a campaign holds."""

    sku: str
    warehouse: str
    priority: int
    salable: int
    country: str = ""


@dataclass(frozen=True)
class Allocation:
    sku: str
    warehouse: str
    quantity: int
    campaign: str = ""  # '' for general stock, else the campaign whose held units these are


@dataclass(frozen=True)
class AllocationPlan:
    allocations: list[Allocation]
    shortfall: dict[str, int] = field(default_factory=dict)  # units per SKU nothing could serve


Rank = Callable[[WarehouseStock], tuple]


def allocate(wanted: dict[str, int], stock: list[WarehouseStock]) -> list[Allocation]:
    """Serves the order from one warehouse when one can fill it all, else splits by priority."""
    return plan(wanted, stock).allocations


def plan(wanted: dict[str, int], stock: Sequence[WarehouseStock],
         strategy: str = STRATEGIES[0], destination_country: str = "",
         allow_partial: bool = False, *, campaign: str = "",
         campaign_stock: Sequence[WarehouseStock] = ()) -> AllocationPlan:
    """Allocates `wanted` by `strategy`, campaign stock first. An order that cannot be filled
    raises OutOfStock, or with `allow_partial` gets what there is and the shortfall."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown allocation strategy {strategy!r}: "
                         f"expected one of {', '.join(STRATEGIES)}")
    wanted = {sku: qty for sku, qty in wanted.items() if qty > 0}
    rank = _ranking(strategy, destination_country)
    held = _fill(_servable(wanted, campaign_stock), campaign_stock, strategy, rank,
                 destination_country, campaign)
    general = _fill(unallocated(wanted, held), stock, strategy, rank, destination_country, "")
    shortfall = unallocated(wanted, held + general)
    if shortfall and not allow_partial:
        detail = ", ".join(f"{sku} short by {n}" for sku, n in sorted(shortfall.items()))
        raise OutOfStock(f"not enough stock: {detail}")
    return AllocationPlan(sorted(held + general, key=lambda a: a.sku), shortfall)


def unallocated(wanted: dict[str, int], allocations: list[Allocation]) -> dict[str, int]:
    """What of `wanted` the allocations leave unserved, SKU by SKU."""
    left = Counter(wanted)
    for a in allocations:
        left[a.sku] -= a.quantity
    return {sku: qty for sku, qty in sorted(left.items()) if qty > 0}


def _ranking(strategy: str, destination_country: str) -> Rank:
    if strategy == "nearest":
        return lambda r: (r.country != destination_country, r.priority, r.warehouse)
    return lambda r: (r.priority, r.warehouse)


def _servable(wanted: dict[str, int], stock: Sequence[WarehouseStock]) -> dict[str, int]:
    """The part of `wanted` that `stock` can serve, SKU by SKU."""
    total = Counter[str]()
    for row in stock:
        total[row.sku] += max(row.salable, 0)
    return {sku: min(qty, total[sku]) for sku, qty in wanted.items() if total[sku] > 0}


def _fill(wanted: dict[str, int], stock: Sequence[WarehouseStock], strategy: str, rank: Rank,
          destination_country: str, campaign: str) -> list[Allocation]:
    """As much of `wanted` as `stock` holds, placed by the strategy."""
    if not wanted:
        return []
    by_sku: dict[str, list[WarehouseStock]] = defaultdict(list)
    for row in sorted(stock, key=rank):
        if row.sku in wanted and row.salable > 0:
            by_sku[row.sku].append(row)
    if strategy != "priority":
        single = _single_warehouse(wanted, by_sku, rank,
                                   destination_country if strategy == "nearest" else None)
        if single is not None:
            return [Allocation(sku, single, qty, campaign) for sku, qty in sorted(wanted.items())]
    return [a for sku, qty in sorted(wanted.items())
            for a in _split(sku, qty, by_sku[sku], campaign)]


def _single_warehouse(wanted: dict[str, int], by_sku: dict[str, list[WarehouseStock]],
                      rank: Rank, nearest_to: str | None) -> str | None:
    """The best-ranked warehouse that can fill every line; with `nearest_to`, only one in
    that country qualifies when any warehouse there stocks part of the order."""
    able = [{r.warehouse: r for r in by_sku[sku] if r.salable >= qty}
            for sku, qty in wanted.items()]
    common = set.intersection(*(set(a) for a in able))
    if nearest_to is not None:
        nearest = {r.warehouse for rows in by_sku.values() for r in rows if r.country == nearest_to}
        common = common & nearest if nearest else common
    if not common:
        return None
    return min((able[0][w] for w in common), key=rank).warehouse


def _split(sku: str, quantity: int, rows: list[WarehouseStock], campaign: str) -> list[Allocation]:
    result, left = [], quantity
    for row in rows:
        take = min(left, row.salable)
        if take > 0:
            result.append(Allocation(sku, row.warehouse, take, campaign))
            left -= take
        if left == 0:
            break
    return result
