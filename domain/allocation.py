"""Which warehouse serves which part of an order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from domain.errors import OutOfStock


@dataclass(frozen=True)
class WarehouseStock:
    """Salable units of one SKU in one warehouse (on hand minus reserved)."""

    sku: str
    warehouse: str
    priority: int
    salable: int


@dataclass(frozen=True)
class Allocation:
    sku: str
    warehouse: str
    quantity: int


def allocate(wanted: dict[str, int], stock: list[WarehouseStock]) -> list[Allocation]:
    """Serves the order from one warehouse when one can fill it all, else splits by priority."""
    if not wanted:
        return []
    by_sku: dict[str, list[WarehouseStock]] = defaultdict(list)
    for row in sorted(stock, key=lambda r: (r.priority, r.warehouse)):
        by_sku[row.sku].append(row)
    _check_enough(wanted, by_sku)
    single = _single_warehouse(wanted, by_sku)
    if single is not None:
        return [Allocation(sku, single, qty) for sku, qty in sorted(wanted.items())]
    return [a for sku, qty in sorted(wanted.items()) for a in _split(sku, qty, by_sku[sku])]


def _check_enough(wanted: dict[str, int], by_sku: dict[str, list[WarehouseStock]]) -> None:
    short = {
        sku: qty - sum(r.salable for r in by_sku.get(sku, []))
        for sku, qty in wanted.items()
        if sum(r.salable for r in by_sku.get(sku, [])) < qty
    }
    if short:
        detail = ", ".join(f"{sku} short by {n}" for sku, n in sorted(short.items()))
        raise OutOfStock(f"not enough stock: {detail}")


def _single_warehouse(
    wanted: dict[str, int], by_sku: dict[str, list[WarehouseStock]]
) -> str | None:
    able = [
        {r.warehouse: r.priority for r in by_sku[sku] if r.salable >= qty}
        for sku, qty in wanted.items()
    ]
    common = set.intersection(*(set(a) for a in able))
    if not common:
        return None
    return min(common, key=lambda w: (able[0][w], w))


def _split(sku: str, quantity: int, rows: list[WarehouseStock]) -> list[Allocation]:
    result, left = [], quantity
    for row in rows:
        take = min(left, row.salable)
        if take > 0:
            result.append(Allocation(sku, row.warehouse, take))
            left -= take
        if left == 0:
            break
    return result
