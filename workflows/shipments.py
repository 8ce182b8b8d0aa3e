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
    purpose: str = "outbound"  # outbound | replacement (reshipped, or an exchange)
    reservation: str = "reserve"  # the idempotency-key step of the stock it ships
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
    undeliverable: bool = False  # returned to sender or lost
    awaiting_decision: bool = False
    decision: str = ""  # reship | refund, once support has decided
    claim: str = ""
    settled: bool = False  # undeliverable, and then reshipped or refunded

    def view(self) -> ShipmentView:
        return ShipmentView(self.carrier, self.tracking_number, self.label_url, self.status,
                            self.warehouse, list(self.lines), self.purpose,
                            self.awaiting_decision, self.claim)

    def quantities(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            totals[line.sku] += line.quantity
        return dict(totals)


def plan_shipments(allocations: list[Allocation], *, step: str = "ship",
                   reservation: str = "reserve") -> list[ShipmentRun]:
    """One parcel per warehouse, in warehouse order; `step` names their labels' keys."""
    by_warehouse: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in allocations:
        by_warehouse[a.warehouse][a.sku] += a.quantity
    split = len(by_warehouse) > 1
    return [
        ShipmentRun(warehouse, [ShipmentLine(sku, qty) for sku, qty in sorted(skus.items())],
                    f"{step}-{warehouse}" if split else step,
                    purpose="outbound" if reservation == "reserve" else "replacement",
                    reservation=reservation)
        for warehouse, skus in sorted(by_warehouse.items())
    ]
