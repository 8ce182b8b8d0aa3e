"""The parcels of one order: one per warehouse its stock was allocated from. Plain state
that OrderWorkflow drives; kept apart so the workflow file reads as the business story."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.allocation import Allocation
    from workflows.order_contract import ShipmentLine, ShipmentView


@dataclass
class ShipmentRun:
    """One parcel on its way from a warehouse to the customer."""

    warehouse: str
    lines: list[ShipmentLine]
    key: str  # the idempotency-key step of its label: "ship", or "ship-BER" when split
    picked_by: str = ""
    packed_by: str = ""
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    status: str = "picking"
    handed_over: bool = False
    delivered: bool = False
    failure: str = ""
    seen: set[tuple[str, str]] = field(default_factory=set)  # tracking events applied

    def view(self) -> ShipmentView:
        return ShipmentView(self.carrier, self.tracking_number, self.label_url, self.status,
                            self.warehouse, list(self.lines))

    def quantities(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            totals[line.sku] += line.quantity
        return dict(totals)


def plan_shipments(allocations: list[Allocation]) -> list[ShipmentRun]:
    """One parcel per warehouse, in warehouse order."""
    by_warehouse: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in allocations:
        by_warehouse[a.warehouse][a.sku] += a.quantity
    split = len(by_warehouse) > 1
    return [
        ShipmentRun(warehouse, [ShipmentLine(sku, qty) for sku, qty in sorted(skus.items())],
                    f"ship-{warehouse}" if split else "ship")
        for warehouse, skus in sorted(by_warehouse.items())
    ]
