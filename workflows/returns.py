"""One return of an order: plain state that the order's aftercare drives, tracked on two
axes, where the parcel is (reception) and what the shop decided (acceptance)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.money import Money
    from domain.returns import Acceptance, Reception, ReturnLine
    from workflows.order_contract import InspectedLine, ReturnView


@dataclass
class ReturnRun:
    rma: str
    reason: str
    comment: str
    resolution: str
    lines: list[ReturnLine]
    reception: str = Reception.AWAITING.value
    acceptance: str = Acceptance.PENDING.value
    rejection_reason: str = ""
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    inspected: list[InspectedLine] = field(default_factory=list)
    refunded: Money | None = None
    arrived: bool = False  # the carrier delivered the parcel to the warehouse
    exchange_done: bool = False  # the replacement of an exchange has been delivered (or refunded)
    seen: set[tuple[str, str]] = field(default_factory=set)  # tracking events applied

    @property
    def settled(self) -> bool:
        """Nothing more will happen: rejected, refunded, or its exchange has arrived."""
        if self.acceptance == Acceptance.REJECTED.value:
            return True
        if self.acceptance != Acceptance.ACCEPTED.value:
            return False
        return self.refunded is not None or self.exchange_done

    def quantities(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}

    def view(self) -> ReturnView:
        return ReturnView(self.rma, self.reason, self.comment, self.resolution, list(self.lines),
                          self.reception, self.acceptance, self.rejection_reason, self.carrier,
                          self.tracking_number, self.label_url, self.refunded)
