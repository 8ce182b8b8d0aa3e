"""What each shipping method promises: ship within, deliver within (from placement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ShippingSla:
    ship_within: timedelta  # placed -> handed to the carrier
    deliver_within: timedelta  # placed -> delivered


SLA_BY_METHOD: dict[str, ShippingSla] = {
    "standard": ShippingSla(timedelta(days=2), timedelta(days=5)),
    "express": ShippingSla(timedelta(days=1), timedelta(days=2)),
}


def sla_for(method: str) -> ShippingSla:
    """The method's promise; a method the table does not know is held to standard's."""
    return SLA_BY_METHOD.get(method, SLA_BY_METHOD["standard"])
